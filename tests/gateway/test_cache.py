"""The cache on its own: freshness, the stale window, coalescing, the two backends."""

from __future__ import annotations

import asyncio

import pytest

from gateway.upstream.cache import Cache, Entry, MemoryBackend, RedisBackend
from tests.support.redis import REDIS_URL


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def entry(text: str, clock: Clock) -> Entry:
    return Entry(200, text.encode(), "application/json", clock.now)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> Cache:
    return Cache(MemoryBackend(clock=clock), clock=clock)


async def test_fresh_within_ttl_then_gone(cache: Cache, clock: Clock) -> None:
    """A stored answer is a hit for TTL seconds and not after."""
    await cache.fetch("k", 60, 600, lambda: asyncio.sleep(0, (entry("a", clock), True)))
    clock.now += 59
    hit = await cache.fresh("k", 60)
    assert hit is not None
    assert (hit.result, hit.age_seconds) == ("hit", 59)
    clock.now += 1
    assert await cache.fresh("k", 60) is None


async def test_stale_window_then_forgotten(cache: Cache, clock: Clock) -> None:
    """Past its TTL an answer is stale (usable on error) until the stale window ends."""
    await cache.fetch("k", 60, 600, lambda: asyncio.sleep(0, (entry("a", clock), True)))
    clock.now += 300
    stale = await cache.stale("k", 60, 600)
    assert stale is not None
    assert (stale.result, stale.age_seconds) == ("stale", 300)
    clock.now += 360
    assert await cache.stale("k", 60, 600) is None


async def test_concurrent_misses_make_one_load(cache: Cache, clock: Clock) -> None:
    """100 identical concurrent misses share one load; one is the miss, the rest coalesced."""
    loads = 0

    async def load() -> tuple[Entry, bool]:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return entry("a", clock), True

    lookups = await asyncio.gather(*(cache.fetch("k", 60, 0, load) for _ in range(100)))
    assert loads == 1
    assert sorted(lookup.result for lookup in lookups).count("miss") == 1
    assert {lookup.entry for lookup in lookups} == {entry("a", clock)}


async def test_a_failed_load_fails_every_waiter_and_is_not_stored(cache: Cache) -> None:
    """An upstream failure reaches all coalesced callers; nothing is cached."""

    async def load() -> tuple[Entry, bool]:
        await asyncio.sleep(0.01)
        raise RuntimeError("upstream down")

    results = await asyncio.gather(
        *(cache.fetch("k", 60, 0, load) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await cache.stale("k", 60, 600) is None


async def test_one_waiter_leaving_does_not_cancel_the_others(cache: Cache, clock: Clock) -> None:
    """A caller that gives up leaves the shared load running for the others."""

    async def load() -> tuple[Entry, bool]:
        await asyncio.sleep(0.05)
        return entry("a", clock), True

    quitter = asyncio.create_task(cache.fetch("k", 60, 0, load))
    stayer = asyncio.create_task(cache.fetch("k", 60, 0, load))
    await asyncio.sleep(0.01)
    quitter.cancel()
    assert (await stayer).entry == entry("a", clock)


async def test_everyone_leaving_cancels_the_load(cache: Cache) -> None:
    """When every caller gives up, the upstream call itself is cancelled."""
    cancelled = asyncio.Event()

    async def load() -> tuple[Entry, bool]:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("not reached")

    callers = [asyncio.create_task(cache.fetch("k", 60, 0, load)) for _ in range(2)]
    await asyncio.sleep(0.01)
    for caller in callers:
        caller.cancel()
    await asyncio.wait_for(cancelled.wait(), 1)


async def test_answers_not_worth_keeping_are_shared_but_not_stored(
    cache: Cache, clock: Clock
) -> None:
    """A 404 reaches every waiting caller, but the next call asks the upstream again."""

    async def load() -> tuple[Entry, bool]:
        await asyncio.sleep(0.01)
        return Entry(404, b"no such city", "application/problem+json", clock.now), False

    lookups = await asyncio.gather(*(cache.fetch("k", 60, 600, load) for _ in range(3)))
    assert {lookup.entry.status_code for lookup in lookups} == {404}
    assert await cache.stale("k", 60, 600) is None


async def test_memory_backend_is_bounded(clock: Clock) -> None:
    """The in-process store keeps at most max_entries, dropping the least recently used."""
    backend = MemoryBackend(max_entries=2, clock=clock)
    for key in ("a", "b", "c"):
        await backend.set(key, entry(key, clock), 60)
    assert await backend.get("a") is None
    assert await backend.get("c") is not None


async def test_redis_backend_round_trip_and_expiry(redis_prefix: str) -> None:
    """Entries survive the trip through Redis byte for byte and expire on their own."""
    backend = RedisBackend(REDIS_URL, prefix=redis_prefix)
    stored = Entry(200, '{"a": "é\\n"}\n'.encode(), "application/json; charset=utf-8", 12.5)
    try:
        await backend.set("k", stored, 0.2)
        assert await backend.get("k") == stored
        await asyncio.sleep(0.3)
        assert await backend.get("k") is None
    finally:
        await backend.close()


async def test_redis_down_is_a_miss_not_an_error() -> None:
    """With nothing listening at the Redis URL, reads miss and writes are skipped, quickly."""
    backend = RedisBackend("redis://127.0.0.1:1/0", timeout_seconds=0.2)
    try:
        await backend.set("k", Entry(200, b"x", "text/plain", 0), 60)
        assert await backend.get("k") is None
        assert backend.failures == 2
    finally:
        await backend.close()
