"""The benchmark's CI-safe smoke: real stub upstreams and a real gateway, loose bounds.

``python -m bench`` measures; this only guards the shape of the numbers with room for a
noisy shared machine: one fullinfo costs about one upstream delay (the two calls overlap),
concurrent clients are served concurrently, and identical misses are coalesced. The peer
(Hive Gateway over a Mesh supergraph of the same stubs) must answer the same data and fan
out too; without Node or node/node_modules its tests skip, saying why (fail in CI).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench import peer, procs
from bench.client import LoadResult, burst, run_load
from bench.report import peer_rows, peer_table
from bench.run import Results
from bench.stack import BURST_ROOM, CACHE_OFF, CACHE_ON, fullinfo_body
from tests.support.node import require_node

pytestmark = pytest.mark.e2e

DELAY_MS = 50.0  # large next to scheduling noise, small enough for a quick test
R_LAT_BOUND = 1.3  # issue 7's loose CI bound (the bench's target is 1.10)
PEER_R_LAT_BOUND = 1.5  # the peer overlaps its calls: halfway between 1 D and 2 D
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


@pytest.fixture(scope="module")
def hive(
    stubs: tuple[procs.Process, procs.Process], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[procs.Process]:
    """The peer: the supergraph composed over the stubs, served by one Hive Gateway."""
    require_node(*peer.TOOLS)
    supergraph = peer.compose(*stubs, tmp_path_factory.mktemp("peer"))
    server = peer.gateway(supergraph, pin=False)
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
    settings = {**CACHE_ON, **BURST_ROOM}  # all 100 in flight: coalescing, not shedding
    server = procs.gateway(*stubs, settings=settings, pin=False, name="gateway-cached")
    try:
        server.start()
        body = fullinfo_body("Coalesced").encode()
        statuses = asyncio.run(burst(server.url + "/graphql", method="POST", body=body))
        keys = httpx.get(f"{stubs[0].url}/__stats").json()["keys"]
    finally:
        server.stop()
    assert statuses == [200] * 100
    assert keys.get("Coalesced|fr") == 1


def _data(server: procs.Process, body: bytes) -> object:
    response = httpx.post(
        server.url + "/graphql",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    answer = response.json()
    assert response.status_code == 200, answer
    assert "errors" not in answer, answer
    return answer["data"]


def test_peer_answers_the_gateways_fullinfo_with_the_same_data(
    hive: procs.Process, gateway: procs.Process
) -> None:
    """Same query, same JSON for every selected field: the peer does the same work."""
    ours, theirs = _data(gateway, BODY), _data(hive, BODY)
    assert theirs == ours
    assert isinstance(theirs, dict)
    assert theirs["fullinfo"]["weather"]["conditionCode"] == "cloudy"


def test_peer_fetches_both_services_concurrently(
    hive: procs.Process, stubs: tuple[procs.Process, procs.Process]
) -> None:
    """The peer's fullinfo also overlaps its two calls, with one call to each service.

    The bound is the peer's, not a product target: nearer one delay than two (calling in
    turn costs 2 D), with room for V8 warming up and an unpinned Node on a busy machine."""
    before = [_calls(stub) for stub in stubs]
    _load(hive, concurrency=1, requests=20)
    result = _load(hive, concurrency=1, requests=30)
    assert result.errors == 0
    assert result.requests == 30
    assert result.p50_ms / DELAY_MS <= PEER_R_LAT_BOUND, (
        f"peer R_lat = {result.p50_ms / DELAY_MS:.2f}"
    )
    assert [_calls(stub) - n for stub, n in zip(stubs, before, strict=True)] == [50, 50]


def test_peer_rows_say_why_they_are_empty() -> None:
    """Without the peer the table still prints Canaduck's side and the reason."""
    results = Results(delay_ms=DELAY_MS, cache=True, peer_missing="no `node` on PATH")
    table = peer_table(results, "2.15.1")
    assert "peer rows missing: no `node` on PATH" in table
    rows = peer_rows(results)
    assert len(rows) == 13  # 3 sides x 2 settings x 2 client counts, and N processes
    assert {row.hive for row in rows} == {"n/a"}
    assert rows[-1].target == "--workers N"


def test_peer_tools_are_found_where_npm_ci_puts_them() -> None:
    """bench.peer looks where `npm ci --prefix node` installs (tests.support.node agrees)."""
    require_node(*peer.TOOLS)
    assert peer.missing_reason() is None
    assert peer.version().count(".") == 2
    assert Path(peer.MESH_CONFIG).is_file()
    assert Path(peer.GATEWAY_CONFIG).is_file()
