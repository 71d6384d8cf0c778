"""Load shedding: past GATEWAY_MAX_IN_FLIGHT a request is answered 503 OVERLOADED at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from canaduck.protocol import ADMITTED_KEY
from gateway.config import GatewaySettings
from gateway.observability.metrics import Metrics
from gateway.shedding import AdaptiveLimit, Drain, LoadShedder
from tests.gateway.conftest import serve
from tests.support.fake_upstreams import FakeUpstream

QUERY = {"query": '{ fullinfo(city: "Rodez") { weather { temperature } joke } }'}
SLOW_SECONDS = 0.3


@asynccontextmanager
async def one_slot_taken(
    weather: FakeUpstream, joke: FakeUpstream
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway with room for one request, and that room taken by a slow fullinfo."""
    weather.delay_seconds = SLOW_SECONDS
    settings = GatewaySettings(max_in_flight=1, upstream_retries=0, cache_weather_ttl_seconds=0)
    async with serve(settings, weather, joke) as gateway:
        first = asyncio.create_task(gateway.post("/graphql", json=QUERY))
        for _ in range(100):  # until the first request holds its slot (at most 1 s)
            if weather.calls:
                break
            await asyncio.sleep(0.01)
        yield gateway
        assert (await first).status_code == 200


async def test_graphql_beyond_the_limit_is_an_overloaded_error(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """A second GraphQL request gets 503, Retry-After and a GraphQL error coded OVERLOADED."""
    async with one_slot_taken(weather, joke) as gateway:
        response = await gateway.post("/graphql", json=QUERY)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "OVERLOADED"
    assert error["extensions"]["retryable"] is True
    assert "data" not in response.json()
    assert len(weather.calls) == 1  # the shed request never reached an upstream


async def test_rest_beyond_the_limit_is_an_overloaded_problem(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """A REST request past the limit gets a 503 problem JSON with the same code."""
    async with one_slot_taken(weather, joke) as gateway:
        response = await gateway.get("/fullinfo", params={"city": "Paris"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    problem = response.json()
    assert (problem["status"], problem["code"]) == (503, "OVERLOADED")
    assert problem["requestId"] == response.headers["x-request-id"]


async def test_operator_endpoints_are_never_shed(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """/health, /ready and /metrics answer while the gateway is full; the shed are counted."""
    async with one_slot_taken(weather, joke) as gateway:
        await gateway.post("/graphql", json=QUERY)  # shed
        statuses = [(await gateway.get(path)).status_code for path in ("/health", "/ready")]
        metrics = await gateway.get("/metrics")
    assert statuses == [200, 200]
    assert 'canaduck_shed_requests_total{door="graphql"} 1.0' in metrics.text


async def test_no_limit_when_set_to_zero(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """GATEWAY_MAX_IN_FLIGHT=0 sheds nothing, however many requests are in flight."""
    weather.delay_seconds = 0.1
    settings = GatewaySettings(max_in_flight=0, upstream_retries=0, cache_weather_ttl_seconds=0)
    async with serve(settings, weather, joke) as gateway:
        responses = await asyncio.gather(*(gateway.post("/graphql", json=QUERY) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}


def test_adaptive_limit_falls_while_the_loop_lags_and_recovers() -> None:
    """Lag over the bound takes the limit down to its floor; no lag brings it back up."""
    limit = AdaptiveLimit(ceiling=64, floor=8, max_lag_seconds=0.025)
    for _ in range(100):
        limit.observe(0.1)
    assert limit.current == 8
    for _ in range(100):
        limit.observe(0.001)
    assert limit.current == 64


async def test_a_slot_taken_by_the_early_check_is_held_until_its_request_ends() -> None:
    """Requests that arrive in one pass of the loop are all checked before any of their
    tasks runs: the check itself takes the slot, or every one of them would get in."""
    seen: list[int] = []

    async def app(scope: object, receive: object, send: object) -> None:
        seen.append(shedder.in_flight)

    shedder = LoadShedder(
        app,
        limit=AdaptiveLimit(ceiling=1, floor=1, max_lag_seconds=0.0),
        metrics=Metrics(),
        drain=Drain(seconds=0.0, grace_seconds=0.0),
    )
    assert shedder.admit("/health", []) is False  # never counted: no slot taken
    assert shedder.admit("/graphql", []) is True
    refused = shedder.admit("/graphql", [(b"x-request-id", b"second")])
    assert not isinstance(refused, bool)
    status, headers, _ = refused
    assert (status, dict(headers)[b"x-request-id"]) == (503, b"second")

    scope = {"type": "http", "path": "/graphql", "headers": [], ADMITTED_KEY: True}
    await shedder(scope, None, None)  # type: ignore[arg-type]
    assert seen == [1]  # its own slot, not counted a second time
    assert shedder.in_flight == 0  # freed when the request ended
    assert shedder.admit("/graphql", []) is True
