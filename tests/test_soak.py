"""The 30-second soak (``python -m bench.soak``): faults cycling under load leak nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.soak import soak

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(120)
def test_thirty_second_soak_leaks_nothing_and_never_answers_500(
    record_property: Callable[[str, object], None],
) -> None:
    """Healthy, blackhole, garbage and reset upstreams in turn under load: RSS stays within
    10 % of its warmed-up size, FDs and tasks return to idle, and no answer is a 500."""
    lines: list[str] = []
    result = soak(
        30,
        phase_seconds=4,
        clients=8,
        sample_seconds=5,
        breaker_cooldown_seconds=2,
        out=lines.append,
    )
    record_property("soak", "\n".join(lines))
    record_property("statuses", dict(result.statuses))
    failed = [f"{what}: {seen}" for what, ok, seen in result.checks() if not ok]
    assert not failed, "\n".join([*failed, *lines])
    assert sum(result.statuses.values()) > 100, result.statuses  # the load did run
