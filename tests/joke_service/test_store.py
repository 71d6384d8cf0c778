from __future__ import annotations

from pathlib import Path

import pyjokes
import pytest

from joke_service.config import JokeSettings
from joke_service.jokes_fr import FRENCH_JOKES
from joke_service.main import create_app
from joke_service.store import JokeStoreUnavailable
from tests.joke_service.harness import all_jokes, serving


async def test_seeds_our_french_jokes_and_pyjokes(settings: JokeSettings) -> None:
    """Every one of our French jokes and of pyjokes' neutral ones can be fetched by id."""
    async with serving(create_app(settings)) as client:
        served = set((await all_jokes(client)).values())
    ours = {("fr", text) for text in FRENCH_JOKES}
    from_pyjokes = {
        (lang, text)
        for lang in ("fr", "en")
        for text in pyjokes.get_jokes(language=lang, category="neutral")
    }
    assert len(ours) >= 30
    assert ours <= served
    assert from_pyjokes <= served


async def test_restart_keeps_jokes_and_ids(settings: JokeSettings) -> None:
    """Starting twice on one database file serves the same jokes under the same ids."""
    snapshots = []
    for _ in range(2):
        async with serving(create_app(settings)) as client:
            snapshots.append(await all_jokes(client))
    assert snapshots[1] == snapshots[0]


async def test_unwritable_db_location_fails_at_startup(tmp_path: Path) -> None:
    """A database path that cannot be created stops startup with an error naming the path."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    db_path = blocker / "jokes.sqlite3"
    with pytest.raises(JokeStoreUnavailable, match="not-a-directory"):
        async with serving(create_app(JokeSettings(db_path=db_path))):
            pass


async def test_file_that_is_not_sqlite_fails_at_startup(tmp_path: Path) -> None:
    """A database path holding something other than SQLite stops startup with a clear error."""
    db_path = tmp_path / "jokes.sqlite3"
    db_path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(JokeStoreUnavailable, match="cannot open the joke database"):
        async with serving(create_app(JokeSettings(db_path=db_path))):
            pass
