from __future__ import annotations

import random
from pathlib import Path

import httpx
import pyjokes
import pytest

from joke_service.api import get_store
from joke_service.config import JokeSettings
from joke_service.jokes_fr import FRENCH_JOKES
from joke_service.main import create_app
from joke_service.store import JokeStore, SeedRow, open_store
from tests.joke_service.harness import assert_problem, serving

DUCK_JOKE = "Où est caché le canard ? Dans le coin."
FRENCH = {*FRENCH_JOKES, *pyjokes.get_jokes(language="fr", category="neutral")}
ENGLISH = set(pyjokes.get_jokes(language="en", category="neutral"))


async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    """GET /health answers 200 {"status": "ok"} once the service has started."""
    response = await client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_joke_is_french_by_default(client: httpx.AsyncClient) -> None:
    """GET /joke without lang answers a French joke as {id, joke, lang}."""
    response = await client.get("/joke")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["id", "joke", "lang"]
    assert body["lang"] == "fr"
    assert body["joke"] in FRENCH


async def test_lang_en_gives_an_english_joke(client: httpx.AsyncClient) -> None:
    """GET /joke?lang=en answers an English joke."""
    body = (await client.get("/joke", params={"lang": "en"})).json()
    assert body["lang"] == "en"
    assert body["joke"] in ENGLISH


async def test_default_language_follows_settings(tmp_path: Path) -> None:
    """With JOKE_DEFAULT_LANG=en, GET /joke without lang answers in English."""
    settings = JokeSettings(db_path=tmp_path / "jokes.sqlite3", default_lang="en")
    async with serving(create_app(settings)) as client:
        body = (await client.get("/joke")).json()
    assert (body["lang"], body["joke"] in ENGLISH) == ("en", True)


async def test_seed_duck_joke_is_joke_one(client: httpx.AsyncClient) -> None:
    """A fresh database serves the seed's duck joke as GET /jokes/1."""
    response = await client.get("/jokes/1")
    assert response.json() == {"id": 1, "joke": DUCK_JOKE, "lang": "fr"}


async def test_unknown_id_is_a_joke_not_found_problem(client: httpx.AsyncClient) -> None:
    """GET /jokes/{id} for an id no joke has answers a 404 JOKE_NOT_FOUND problem."""
    assert_problem(await client.get("/jokes/999999"), 404, "JOKE_NOT_FOUND")


async def test_invalid_lang_is_a_422_problem(client: httpx.AsyncClient) -> None:
    """GET /joke?lang=de answers a 422 INVALID_INPUT problem naming lang."""
    response = await client.get("/joke", params={"lang": "de"})
    assert_problem(response, 422, "INVALID_INPUT")
    assert "lang" in response.json()["detail"]


@pytest.mark.parametrize("joke_id", ["abc", "-1", "1.5", "99999999999999999999"])
async def test_invalid_id_is_a_422_problem(client: httpx.AsyncClient, joke_id: str) -> None:
    """A non-integer, negative or out-of-range id answers a 422 INVALID_INPUT problem."""
    assert_problem(await client.get(f"/jokes/{joke_id}"), 422, "INVALID_INPUT")


async def test_random_and_by_id_answers_are_byte_identical(client: httpx.AsyncClient) -> None:
    """GET /joke and GET /jokes/{its id} answer the same bytes and content type."""
    for lang in ("fr", "en"):
        random_pick = await client.get("/joke", params={"lang": lang})
        by_id = await client.get(f"/jokes/{random_pick.json()['id']}")
        assert by_id.content == random_pick.content
        assert by_id.headers["content-type"] == random_pick.headers["content-type"]


async def test_random_joke_varies(client: httpx.AsyncClient) -> None:
    """Fifty GET /joke calls tell more than one joke."""
    texts = {(await client.get("/joke")).json()["joke"] for _ in range(50)}
    assert len(texts) > 1


async def test_same_rng_seed_tells_the_same_jokes(settings: JokeSettings) -> None:
    """Two services given equally seeded generators tell the same jokes in the same order."""
    told: list[list[int]] = []
    for _ in range(2):
        async with serving(create_app(settings, rng=random.Random(7))) as client:
            told.append([(await client.get("/joke")).json()["id"] for _ in range(10)])
    assert told[0] == told[1]


async def test_language_without_jokes_is_a_no_jokes_problem(
    settings: JokeSettings, tmp_path: Path
) -> None:
    """GET /joke in a language the store holds no joke in answers a 404 NO_JOKES problem."""
    app = create_app(settings)
    seed = [SeedRow("fr", "Une seule blague, et en français.", "test")]
    async with open_store(tmp_path / "french-only.sqlite3", seed=seed) as french_only:

        async def only_french() -> JokeStore:
            return french_only

        app.dependency_overrides[get_store] = only_french
        async with serving(app) as client:
            response = await client.get("/joke", params={"lang": "en"})
    assert_problem(response, 404, "NO_JOKES")
