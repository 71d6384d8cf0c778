"""A circuit breaker per upstream: stop calling a service that keeps failing.

closed ──N consecutive failures──▶ open ──cooldown──▶ half-open ──probe ok──▶ closed
                                    ▲                     │
                                    └────probe failed─────┘

While open, calls fail at once (no socket, no wait) with ``UpstreamCircuitOpen`` and a
``Retry-After`` of the cooldown left. After the cooldown exactly one call goes through as a
probe; the others keep failing fast until it reports. A probe that never reports (its
client went away) frees the slot for the next caller instead of wedging the breaker.
Semantics follow Envoy's outlier detection (5 consecutive failures, 30 s ejection).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"circuit open, retry after {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self.cooldown_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def acquire(self) -> bool:
        """Let a call through or raise :class:`CircuitOpen`; True when it is the probe."""
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        assert self._opened_at is not None
        left = self.cooldown_seconds - (self._clock() - self._opened_at)
        raise CircuitOpen(max(1, math.ceil(left)))

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
        self._probing = False

    def release(self, probe: bool) -> None:
        """The call ended without a verdict (cancelled): free the probe slot."""
        if probe:
            self._probing = False
