"""The circuit breaker's state machine, on a fake clock."""

from __future__ import annotations

import pytest

from gateway.upstream.breaker import BreakerState, CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown_seconds=30, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.acquire()
        breaker.record_failure()


def test_opens_after_threshold_consecutive_failures(breaker: CircuitBreaker) -> None:
    """Three failures in a row open the circuit; calls then fail at once."""
    fail(breaker, 2)
    before = breaker.state
    fail(breaker, 1)
    assert (before, breaker.state) == (BreakerState.CLOSED, BreakerState.OPEN)
    with pytest.raises(CircuitOpen) as raised:
        breaker.acquire()
    assert raised.value.retry_after_seconds == 30


def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    """Failures must be consecutive: one success in between starts the count again."""
    fail(breaker, 2)
    breaker.acquire()
    breaker.record_success()
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED


def test_one_probe_after_cooldown(breaker: CircuitBreaker, clock: Clock) -> None:
    """After the cooldown exactly one call goes through; the others still fail fast."""
    fail(breaker, 3)
    clock.now += 30
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire() is True
    with pytest.raises(CircuitOpen):
        breaker.acquire()


def test_probe_success_closes(breaker: CircuitBreaker, clock: Clock) -> None:
    """A good probe closes the circuit for everyone."""
    fail(breaker, 3)
    clock.now += 31
    breaker.acquire()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.acquire() is False


def test_probe_failure_reopens_for_a_full_cooldown(breaker: CircuitBreaker, clock: Clock) -> None:
    """A failed probe opens the circuit again, counting the cooldown from now."""
    fail(breaker, 3)
    clock.now += 31
    breaker.acquire()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 29
    assert breaker.state is BreakerState.OPEN


def test_abandoned_probe_frees_the_slot(breaker: CircuitBreaker, clock: Clock) -> None:
    """A probe cancelled before its verdict lets the next caller probe instead."""
    fail(breaker, 3)
    clock.now += 31
    probe = breaker.acquire()
    breaker.release(probe)
    assert breaker.acquire() is True
