from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from joke_service.config import JokeSettings
from joke_service.main import create_app
from tests.joke_service.harness import serving


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JokeSettings:
    # A developer's JOKE_DEFAULT_LANG must not change what "the default" means in tests.
    monkeypatch.delenv("JOKE_DEFAULT_LANG", raising=False)
    return JokeSettings(db_path=tmp_path / "jokes.sqlite3")


@pytest.fixture
async def client(settings: JokeSettings) -> AsyncIterator[httpx.AsyncClient]:
    # A seeded generator, so tests that count distinct jokes cannot flake.
    async with serving(create_app(settings, rng=random.Random(2024))) as client:
        yield client
