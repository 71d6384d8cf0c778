"""The joke service's HTTP routes.

Errors (problem JSON through canaduck's handlers): :class:`JokeNotFound` (404
``JOKE_NOT_FOUND``) and :class:`NoJokes` (404 ``NO_JOKES``); a bad ``lang`` or id is a 422
``INVALID_INPUT`` from request validation.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from canaduck.problems import ApiError, problem_responses
from joke_service.config import JokeSettings
from joke_service.store import JokeRecord, JokeStore, Lang

# SQLite integers are 64-bit; a larger id would overflow the driver and answer 500.
_MAX_ID = 2**63 - 1


class JokeNotFound(ApiError):
    status_code = 404
    code = "JOKE_NOT_FOUND"
    title = "Joke not found"


class NoJokes(ApiError):
    status_code = 404
    code = "NO_JOKES"
    title = "No jokes in this language"


class Joke(BaseModel):
    """A joke as every route returns it."""

    # One model for /joke and /jokes/{id}, so one joke always serialises to the same bytes
    # (the gateway relays either and its tests compare them). Field order is the key order.
    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [{"id": 1, "joke": "Où est caché le canard ? Dans le coin.", "lang": "fr"}]
        },
    )

    id: int = Field(description="Stable id: GET /jokes/{id} returns this joke again.")
    joke: str = Field(description="The joke text.")
    lang: Lang = Field(description="Language of the joke.")

    @classmethod
    def of(cls, joke: JokeRecord) -> Joke:
        return cls(id=joke.id, joke=joke.text, lang=joke.lang)


class Health(BaseModel):
    status: str = "ok"


# async: FastAPI runs sync dependencies in its thread pool, a cost every request would pay.
async def get_store(request: Request) -> JokeStore:
    store: JokeStore = request.state.store
    return store


async def get_settings(request: Request) -> JokeSettings:
    settings: JokeSettings = request.state.settings
    return settings


StoreDep = Annotated[JokeStore, Depends(get_store)]
SettingsDep = Annotated[JokeSettings, Depends(get_settings)]

router = APIRouter()


@router.get(
    "/health", operation_id="health", summary="Liveness: the store is open and the service answers."
)
async def health() -> Health:
    """Answers 200 once startup (store opened and seeded) has finished."""
    return Health()


@router.get(
    "/joke",
    operation_id="random_joke",
    summary="A random joke.",
    responses=problem_responses(
        {
            404: "NO_JOKES: there are no jokes in that language.",
            422: "INVALID_INPUT: lang is neither fr nor en.",
        }
    ),
)
async def random_joke(
    store: StoreDep,
    settings: SettingsDep,
    lang: Annotated[
        Lang | None, Query(description="fr or en; the service default if absent.")
    ] = None,
) -> Joke:
    """A random joke in the requested language (French unless configured otherwise)."""
    wanted = lang or settings.default_lang
    joke = await store.random(wanted)
    if joke is None:
        raise NoJokes(f"There are no jokes in {wanted!r}.", extra={"lang": wanted})
    return Joke.of(joke)


@router.get(
    "/jokes/{joke_id}",
    operation_id="joke_by_id",
    summary="One joke by id.",
    responses=problem_responses(
        {
            404: "JOKE_NOT_FOUND: no joke has that id.",
            422: "INVALID_INPUT: the id is not a whole number from 0 to 2^63-1.",
        }
    ),
)
async def joke_by_id(
    store: StoreDep,
    joke_id: Annotated[int, Path(ge=0, le=_MAX_ID, description="A joke's id.")],
) -> Joke:
    """The joke with this id, exactly as GET /joke returned it."""
    joke = await store.get(joke_id)
    if joke is None:
        raise JokeNotFound(f"No joke has id {joke_id}.", extra={"jokeId": joke_id})
    return Joke.of(joke)
