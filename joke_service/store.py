"""The joke store: one SQLite file, created and seeded at startup, then read by id.

Every database call goes through aiosqlite, which runs it on the connection's own thread,
so the event loop never blocks on SQLite.

Seeding is idempotent: ``INSERT OR IGNORE`` against ``UNIQUE(lang, text)`` adds only the
jokes the file lacks, so a restart keeps every id, and a newer pyjokes only appends.

Random pick: the ids of each language are loaded once after seeding, so a random joke is
``rng.choice(ids)`` plus one primary-key lookup. ``ORDER BY random()`` would scan the
language's rows on every request and could not use an injected ``random.Random``, which
tests seed for repeatable answers.

Rows never change while the service runs (it is the only writer and writes only at
startup), which keeps those ids right and lets :meth:`JokeStore.get` keep each joke it has
read: the hop to aiosqlite's thread costs more CPU than the rest of a request (about
0.35 ms against 0.15 ms, measured under uvicorn), so each joke crosses it once. Only found
jokes are kept, so memory stays bounded by the table however many unknown ids clients try.
An edit made to the file by hand shows after a restart.

Errors: :class:`JokeStoreUnavailable` when the database cannot be created, opened, written
or seeded. It is raised while the app starts, so a broken deployment (read-only volume,
a file that is not SQLite) fails before serving, not at its first request.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, cast

import aiosqlite
import pyjokes

from joke_service.jokes_fr import FRENCH_JOKES

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jokes (
    id INTEGER PRIMARY KEY,
    lang TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (lang, text)
)
"""
# Both queries skip rows someone added by hand in a language we do not serve: they stay
# invisible instead of failing the response model with a 500.
_SELECT_BY_ID = "SELECT id, text, lang FROM jokes WHERE id = ? AND lang IN ('fr', 'en')"
_SELECT_IDS = "SELECT id, lang FROM jokes WHERE lang IN ('fr', 'en') ORDER BY id"


class JokeStoreUnavailable(Exception):
    """The joke database cannot be created, opened or seeded."""


@dataclass(frozen=True, slots=True)
class JokeRecord:
    id: int
    text: str
    lang: Lang


class SeedRow(NamedTuple):
    lang: Lang
    text: str
    source: str


def default_seed() -> list[SeedRow]:
    """Our French jokes first (so they get the lowest ids), then pyjokes' neutral ones."""
    rows = [SeedRow("fr", text, "canaduck") for text in FRENCH_JOKES]
    for lang in LANGS:
        rows += (
            SeedRow(lang, text.strip(), "pyjokes")
            for text in pyjokes.get_jokes(language=lang, category="neutral")
        )
    return rows


class JokeStore:
    """Jokes by id or at random, over one open aiosqlite connection."""

    def __init__(
        self, db: aiosqlite.Connection, ids: dict[Lang, list[int]], rng: random.Random
    ) -> None:
        self._db = db
        self._ids = ids
        self._rng = rng
        self._read: dict[int, JokeRecord] = {}  # see "Rows never change" above

    async def get(self, joke_id: int) -> JokeRecord | None:
        joke = self._read.get(joke_id)
        if joke is None:
            rows = await self._db.execute_fetchall(_SELECT_BY_ID, (joke_id,))
            for found_id, text, lang in rows:
                joke = self._read[joke_id] = JokeRecord(found_id, text, cast(Lang, lang))
        return joke

    async def random(self, lang: Lang) -> JokeRecord | None:
        """A random joke in ``lang``, or None when that language has none."""
        ids = self._ids[lang]
        if not ids:
            return None
        return await self.get(self._rng.choice(ids))


@asynccontextmanager
async def open_store(
    path: Path,
    *,
    rng: random.Random | None = None,
    seed: Iterable[SeedRow] | None = None,
) -> AsyncIterator[JokeStore]:
    """Create (if needed), seed and open the store at ``path``; close it on exit.

    ``seed`` replaces :func:`default_seed`; ``rng`` makes random picks repeatable.
    """
    try:
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)  # we issue BEGIN ourselves
    except (OSError, sqlite3.Error) as exc:
        raise _unavailable(path, exc) from exc
    try:
        try:
            ids = await _seed(db, default_seed() if seed is None else seed)
        except sqlite3.Error as exc:
            raise _unavailable(path, exc) from exc
        log.info("joke_store.opened path=%s fr=%d en=%d", path, len(ids["fr"]), len(ids["en"]))
        yield JokeStore(db, ids, rng or random.Random())  # noqa: S311 (jokes, not secrets)
    finally:
        await db.close()  # also rolls back a seeding transaction that failed half-way


async def _seed(db: aiosqlite.Connection, rows: Iterable[SeedRow]) -> dict[Lang, list[int]]:
    # IMMEDIATE takes the write lock now: a read-only file fails here, at startup, and two
    # replicas starting on one file seed one after the other instead of deadlocking.
    await db.execute("BEGIN IMMEDIATE")
    await db.execute(_SCHEMA)
    await db.executemany(
        "INSERT OR IGNORE INTO jokes (lang, text, source) VALUES (?, ?, ?)", list(rows)
    )
    await db.execute("COMMIT")
    ids: dict[Lang, list[int]] = {lang: [] for lang in LANGS}
    for joke_id, lang in await db.execute_fetchall(_SELECT_IDS):
        ids[cast(Lang, lang)].append(joke_id)
    return ids


def _unavailable(path: Path, exc: BaseException) -> JokeStoreUnavailable:
    log.error("joke_store.open.failed path=%s error=%s", path, exc)
    return JokeStoreUnavailable(f"cannot open the joke database at {path}: {exc}")
