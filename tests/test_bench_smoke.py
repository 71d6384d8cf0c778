"""The benchmark's CI-safe smoke: real stub upstreams and a real gateway, loose bounds.

``python -m bench`` measures; this only guards the shape of the numbers with room for a
noisy shared machine: one fullinfo costs about one upstream delay (the two calls overlap),
concurrent clients are served concurrently, and identical misses are coalesced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from bench import procs
from bench.client import LoadResult, burst, run_load
from bench.stack import CACHE_OFF, CACHE_ON, fullinfo_body

pytestmark = pytest.mark.e2e

DELAY_MS = 50.0  # large next to scheduling noise, small enough for a quick test
R_LAT_BOUND = 1.3  # issue 7's loose CI bound (the bench's target is 1.10)
BODY = fullinfo_body("Rodez").encode()


@pytest.fixture(scope="module")
def stubs() -> Iterator[tuple[procs.Process, procs.Process]]:
    weather = procs.stub("weather", DELAY_MS, pin=False)
    joke = procs.stub("joke", DELAY_MS, pin=False)
    try:
        yield weather.start(), joke.start()
    finally:
        weather.stop()
        joke.stop()


@pytest.fixture(scope="module")
def gateway(stubs: tuple[procs.Process, procs.Process]) -> Iterator[procs.Process]:
    """The gateway as shipped, cache off (a cache would hide the fan-out)."""
    server = procs.gateway(*stubs, settings=CACHE_OFF, pin=False)
    try:
        yield server.start()
    finally:
        server.stop()


def _load(gateway: procs.Process, *, concurrency: int, requests: int) -> LoadResult:
    load = run_load(
        gateway.url + "/graphql",
        method="POST",
        body=BODY,
        concurrency=concurrency,
        max_requests=requests,
        duration_seconds=10,
    )
    return asyncio.run(load)


def _calls(stub: procs.Process) -> int:
    return int(httpx.get(f"{stub.url}/__stats").json()["calls"])


def test_fullinfo_costs_about_one_upstream_delay(
    gateway: procs.Process, stubs: tuple[procs.Process, procs.Process]
) -> None:
    """At c=1 the median fullinfo takes at most 1.3 D, where calling in turn would take 2 D."""
    before = [_calls(stub) for stub in stubs]
    _load(gateway, concurrency=1, requests=5)
    result = _load(gateway, concurrency=1, requests=30)
    assert result.errors == 0
    assert result.requests == 30
    assert result.p50_ms / DELAY_MS <= R_LAT_BOUND, f"R_lat = {result.p50_ms / DELAY_MS:.2f}"
    # Each fullinfo called each service exactly once (warm-up included).
    assert [_calls(stub) - n for stub, n in zip(stubs, before, strict=True)] == [35, 35]


def test_concurrent_clients_are_served_concurrently(gateway: procs.Process) -> None:
    """30 fullinfos from 10 clients take well under the naive sequential sum (30 × 2 D)."""
    result = _load(gateway, concurrency=10, requests=30)
    sequential_sum_seconds = 30 * 2 * DELAY_MS / 1000
    assert result.errors == 0
    assert result.requests == 30
    assert result.seconds <= 0.5 * sequential_sum_seconds, f"{result.seconds:.2f} s"


def test_identical_concurrent_misses_cost_one_upstream_call(
    stubs: tuple[procs.Process, procs.Process],
) -> None:
    """A burst of 100 identical fullinfos for an uncached city calls the weather service once."""
    server = procs.gateway(*stubs, settings=CACHE_ON, pin=False, name="gateway-cached")
    try:
        server.start()
        body = fullinfo_body("Coalesced").encode()
        statuses = asyncio.run(burst(server.url + "/graphql", method="POST", body=body))
        keys = httpx.get(f"{stubs[0].url}/__stats").json()["keys"]
    finally:
        server.stop()
    assert statuses == [200] * 100
    assert keys.get("Coalesced|fr") == 1
