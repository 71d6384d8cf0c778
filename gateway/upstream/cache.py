"""Upstream answers kept for reuse: TTL, in-flight coalescing, stale-on-error.

    Cache ──uses──▶ CacheBackend (Protocol)
                    ├── MemoryBackend   one process (the default; nothing to install)
                    └── RedisBackend    shared by every gateway replica (CACHE_URL=redis://…)

Only valid answers (a 200 that fits the service's contract) are stored, as the raw bytes
the upstream sent, so a cached answer serves GraphQL, the merged ``/fullinfo`` and the
byte-identical passthrough alike. An entry is *fresh* for ``ttl`` seconds, then *stale* for
up to ``max_stale`` more: a stale entry is never served while the upstream answers, only
instead of an error.

Coalescing: while one caller fetches a key, identical callers wait for that same fetch
(one upstream call for N concurrent misses). The fetch runs in its own task so one waiter
giving up does not fail the others; when every waiter has given up, it is cancelled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from gateway.upstream.breaker import BreakerState, CircuitBreaker, CircuitOpen

T = TypeVar("T")
CacheResult = Literal["off", "hit", "miss", "coalesced", "stale"]


@dataclass(frozen=True, slots=True)
class Entry:
    status_code: int
    content: bytes
    content_type: str
    stored_at: float  # wall clock, comparable across replicas

    def age(self, now: float) -> float:
        return max(0.0, now - self.stored_at)

    def dumps(self) -> bytes:
        head = json.dumps({"s": self.status_code, "t": self.content_type, "at": self.stored_at})
        return head.encode() + b"\n" + self.content

    @classmethod
    def loads(cls, raw: bytes) -> Entry:
        head, _, content = raw.partition(b"\n")
        meta = json.loads(head)
        return cls(int(meta["s"]), content, str(meta["t"]), float(meta["at"]))


class CacheBackend(Protocol):
    name: str
    breaker: CircuitBreaker | None  # None: the backend cannot fail (in-process memory)

    async def get(self, key: str) -> Entry | None: ...

    async def set(self, key: str, entry: Entry, keep_seconds: float) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryBackend:
    """A bounded LRU in this process; entries vanish after ``keep_seconds``."""

    name = "memory"
    breaker: CircuitBreaker | None = None

    def __init__(
        self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Entry]] = OrderedDict()

    async def get(self, key: str) -> Entry | None:
        item = self._entries.get(key)
        if item is None:
            return None
        expires, entry = item
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    async def set(self, key: str, entry: Entry, keep_seconds: float) -> None:
        self._entries[key] = (self._clock() + keep_seconds, entry)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._entries.clear()


class RedisBackend:
    """Entries in Redis under ``prefix``, expiring on their own (PX); shared by replicas.

    A Redis that is down, slow or hung must not take the gateway with it: every call is
    bounded by ``timeout_seconds`` and a failure reads as a miss (get) or is skipped (set).
    A breaker of the cache's own stops calling a Redis that keeps failing: while it is
    open, reads miss and writes are skipped at once (no socket, no wait), and one call per
    cooldown probes whether Redis answers again. ``on_error`` hears of each failure.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "canaduck:",
        timeout_seconds: float = 0.2,
        breaker: CircuitBreaker | None = None,
        on_error: Callable[[str], None] = lambda operation: None,
    ) -> None:
        from redis.asyncio import Redis  # imported here: the default setup never needs it

        self.prefix = prefix
        self.timeout_seconds = timeout_seconds
        self.breaker: CircuitBreaker | None = breaker or CircuitBreaker(
            failure_threshold=3, cooldown_seconds=5.0
        )
        self.on_error = on_error
        self._redis = Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self.failures = 0

    async def _call(self, operation: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """``call()`` within the timeout and through the breaker; None when it failed."""
        assert self.breaker is not None
        try:
            probe = self.breaker.acquire()
        except CircuitOpen:
            return None  # known to be failing: not even a socket
        try:
            async with asyncio.timeout(self.timeout_seconds):
                result = await call()
        except asyncio.CancelledError:
            self.breaker.release(probe)
            raise
        except Exception:  # any Redis trouble (refused, reset, timeout, garbage): counted
            self.failures += 1
            self.breaker.record_failure()
            self.on_error(operation)
            return None
        self.breaker.record_success()
        return result

    async def get(self, key: str) -> Entry | None:
        raw = await self._call("get", lambda: self._redis.get(self.prefix + key))
        if raw is None:
            return None
        try:
            return Entry.loads(raw if isinstance(raw, bytes) else raw.encode())
        except ValueError:  # not one of ours: a miss
            return None

    async def set(self, key: str, entry: Entry, keep_seconds: float) -> None:
        px = max(1, int(keep_seconds * 1000))
        await self._call("set", lambda: self._redis.set(self.prefix + key, entry.dumps(), px=px))

    async def ping(self) -> bool:
        """Does Redis answer now? (Through the breaker: while open, no.)"""
        return bool(await self._call("ping", self._redis.ping))

    async def close(self) -> None:
        await self._redis.aclose()


@dataclass(slots=True)
class _Flight:
    task: asyncio.Task[Entry]
    waiters: int = 0


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the cache gave: an answer and how."""

    entry: Entry
    result: CacheResult
    age_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class CacheHealth:
    backend: str  # memory | redis
    status: Literal["ok", "degraded"]  # degraded: reads miss and writes are skipped
    breaker: str | None  # the cache breaker's state (None: the backend cannot fail)
    consecutive_failures: int


# Loads an answer: the entry, and whether it is worth keeping (a valid 200).
Loader = Callable[[], Awaitable[tuple[Entry, bool]]]


class Cache:
    """TTL + coalescing + stale-on-error over one backend."""

    def __init__(self, backend: CacheBackend, *, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self._clock = clock
        self._flights: dict[str, _Flight] = {}

    async def fresh(self, key: str, ttl: float) -> Lookup | None:
        """A fresh stored answer, if there is one."""
        entry = await self.backend.get(key)
        if entry is not None and entry.age(self._clock()) < ttl:
            return Lookup(entry, "hit", entry.age(self._clock()))
        return None

    async def stale(self, key: str, ttl: float, max_stale: float) -> Lookup | None:
        """A stored answer still within its stale window, for use when the upstream fails."""
        entry = await self.backend.get(key)
        if entry is not None and entry.age(self._clock()) < ttl + max_stale:
            return Lookup(entry, "stale", entry.age(self._clock()))
        return None

    async def fetch(self, key: str, ttl: float, max_stale: float, load: Loader) -> Lookup:
        """The answer for ``key``: fresh from the store, or loaded once for all callers.

        A failing ``load`` raises to every caller waiting on it; nothing is stored.
        """
        hit = await self.fresh(key, ttl)
        if hit is not None:
            return hit
        flight = self._flights.get(key)
        result: CacheResult = "coalesced"
        if flight is None:
            result = "miss"
            flight = _Flight(asyncio.create_task(self._load(key, ttl + max_stale, load)))
            self._flights[key] = flight
            flight.task.add_done_callback(lambda _: self._flights.pop(key, None))
        flight.waiters += 1
        try:
            entry = await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            if not flight.task.done():
                flight.waiters -= 1
                if flight.waiters == 0:  # nobody wants it any more: stop the upstream call
                    flight.task.cancel()
            raise
        return Lookup(entry, result)

    async def _load(self, key: str, keep_seconds: float, load: Loader) -> Entry:
        entry, keep = await load()
        if keep:
            await self.backend.set(key, entry, keep_seconds)
        return entry

    async def health(self) -> CacheHealth:
        """How the store is doing, for ``/ready`` (a degraded cache still serves)."""
        breaker = self.backend.breaker
        if breaker is None:
            return CacheHealth(self.backend.name, "ok", None, 0)
        answered = await self.backend.ping()
        healthy = answered and breaker.state is BreakerState.CLOSED
        state = breaker.state.value
        return CacheHealth(
            self.backend.name, "ok" if healthy else "degraded", state, breaker.consecutive_failures
        )

    async def close(self) -> None:
        await self.backend.close()
