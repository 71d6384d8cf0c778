"""The shared cache's own breaker: a Redis that keeps failing is skipped, then retried."""

from __future__ import annotations

from gateway.upstream.breaker import BreakerState, CircuitBreaker
from gateway.upstream.cache import Cache, Entry, MemoryBackend, RedisBackend

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_dead_redis_is_skipped_after_the_threshold_and_probed_after_the_cooldown() -> None:
    """After N failures reads miss without calling Redis; one call probes after the cooldown."""
    clock = Clock()
    errors: list[str] = []
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=5.0, clock=clock)
    backend = RedisBackend(DEAD_REDIS, breaker=breaker, on_error=errors.append)
    try:
        await backend.set("k", Entry(200, b"x", "text/plain", 0), 60)
        assert await backend.get("k") is None
        assert breaker.state is BreakerState.OPEN
        for _ in range(5):
            assert await backend.get("k") is None
        assert errors == ["set", "get"]  # the open breaker made no further calls
        clock.now = 5.0
        assert await backend.get("k") is None
        assert errors == ["set", "get", "get"]  # the one probe, which failed
    finally:
        await backend.close()


async def test_cache_health_says_degraded_while_redis_fails() -> None:
    """Cache.health() reports a failing Redis as degraded, and the in-process cache as ok."""
    backend = RedisBackend(DEAD_REDIS)
    try:
        health = await Cache(backend).health()
        assert (health.backend, health.status) == ("redis", "degraded")
    finally:
        await backend.close()
    memory = await Cache(MemoryBackend()).health()
    assert (memory.backend, memory.status) == ("memory", "ok")
