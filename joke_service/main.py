from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI

from canaduck.problems import install_problem_handlers
from joke_service.api import router
from joke_service.config import JokeSettings
from joke_service.store import JokeStore, open_store


class State(TypedDict):
    """What the lifespan hands to every request as ``request.state``."""

    store: JokeStore
    settings: JokeSettings


def create_app(
    settings: JokeSettings | None = None, *, rng: random.Random | None = None
) -> FastAPI:
    """Build the joke service; ``rng`` makes random picks repeatable in tests."""
    settings = settings or JokeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        # Opening seeds the database, so a bad JOKE_DB_PATH stops startup right here.
        async with open_store(settings.db_path, rng=rng) as store:
            yield {"store": store, "settings": settings}

    app = FastAPI(
        title="Canaduck joke service",
        description="Random French and English jokes, by language or by id.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(router)
    return app
