"""Retries, the breaker, request IDs and readiness, through the in-process gateway."""

from __future__ import annotations

import os
import re
import time

import httpx
import pytest

from gateway.config import GatewaySettings
from gateway.request_scope import request_ids
from gateway.upstream.retries import RetryBudget
from tests.gateway.conftest import graphql, serve
from tests.support.fake_upstreams import FakeUpstream

SEED_QUERY = '{ fullinfo(city: "Rodez") { city weather { temperature } joke } }'


@pytest.fixture
def retrying() -> GatewaySettings:
    return GatewaySettings(
        upstream_timeout_seconds=1.5,
        request_timeout_seconds=2.0,
        upstream_retries=1,
        upstream_retry_min_remaining_seconds=0.5,
    )


@pytest.mark.parametrize("fault", ["dead", "502", "503", "504", "429"])
async def test_one_transient_failure_is_retried_once(
    retrying: GatewaySettings, weather: FakeUpstream, joke: FakeUpstream, fault: str
) -> None:
    """A refused connection or a 429/502/503/504 is retried once, and the client never sees it."""
    async with serve(retrying, weather, joke) as gateway:
        for _ in range(10):  # earn retry budget (0.2 per call)
            await gateway.get("/joke")
        joke.script = [fault]  # type: ignore[list-item]
        response = await gateway.get("/joke")
    assert response.status_code == 200
    assert len(joke.calls) + joke.refused == 12


async def test_retries_stop_at_one(
    retrying: GatewaySettings, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """A service that keeps answering 503 gets exactly two attempts, then the client a 503."""
    async with serve(retrying, weather, joke) as gateway:
        for _ in range(10):
            await gateway.get("/joke")
        joke.fault = "503"
        response = await gateway.get("/joke")
        metrics = (await gateway.get("/metrics")).text
    assert response.status_code == 503
    assert len(joke.calls) == 12
    assert 'canaduck_upstream_retries_total{service="joke"} 1.0' in metrics


@pytest.mark.parametrize("fault", ["500", "html", "wrong_shape"])
async def test_non_transient_failures_are_not_retried(
    retrying: GatewaySettings, weather: FakeUpstream, joke: FakeUpstream, fault: str
) -> None:
    """A 500 or a garbage body is an answer, not a hiccup: no second attempt."""
    async with serve(retrying, weather, joke) as gateway:
        for _ in range(10):
            await gateway.get("/joke")
        joke.fault = fault  # type: ignore[assignment]
        await graphql(gateway, "{ joke { text } }")
    assert len(joke.calls) == 11


async def test_timeouts_are_not_retried(
    retrying: GatewaySettings, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """A call that spent its deadline is not tried again: one attempt, 504 within the deadline."""
    async with serve(retrying, weather, joke) as gateway:
        for _ in range(10):
            await gateway.get("/joke")
        joke.delay_seconds = 5
        started = time.perf_counter()
        response = await gateway.get("/joke")
    assert response.status_code == 504
    assert time.perf_counter() - started < 2.0
    assert len(joke.calls) == 11


def test_retry_budget_caps_retries_at_a_fifth_of_calls() -> None:
    """Over any run of calls, granted retries never exceed 20 % of them."""
    budget = RetryBudget(ratio=0.2)
    granted = 0
    for _ in range(500):
        budget.record_call()
        granted += budget.try_spend()
    assert granted == 100


async def test_breaker_opens_and_fails_fast(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """After 5 failures the joke service is not called; answers come at once with a code."""
    settings = GatewaySettings(
        upstream_retries=0, breaker_failure_threshold=5, breaker_cooldown_seconds=30
    )
    joke.fault = "503"
    async with serve(settings, weather, joke) as gateway:
        for _ in range(5):
            await gateway.get("/joke")
        started = time.perf_counter()
        response = await gateway.get("/joke")
        elapsed = time.perf_counter() - started
        body = await graphql(gateway, SEED_QUERY)
    assert len(joke.calls) == 5
    assert response.status_code == 503
    assert response.json()["code"] == "UPSTREAM_CIRCUIT_OPEN"
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    assert elapsed < 0.5  # generous: the call count above is what proves no upstream call
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_CIRCUIT_OPEN"
    assert body["data"]["fullinfo"]["weather"] == {"temperature": 21.2}


async def test_request_id_is_echoed_forwarded_and_in_errors(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """A client's X-Request-ID comes back, reaches both upstreams and tags every error."""
    joke.fault = "dead"
    response = await gateway.post(
        "/graphql", json={"query": SEED_QUERY}, headers={"X-Request-ID": "hall-screen-3"}
    )
    assert response.headers["X-Request-ID"] == "hall-screen-3"
    assert response.headers["X-Canaduck-Completed"] == "false"
    assert weather.request_ids == ["hall-screen-3"]
    [error] = response.json()["errors"]
    assert error["extensions"] == {
        "code": "UPSTREAM_UNAVAILABLE",
        "service": "joke",
        "retryable": True,
        "requestId": "hall-screen-3",
    }


@pytest.mark.parametrize("sent", ["", "x" * 65, "a b", "bad\u00e9", "<script>"])
async def test_unsafe_request_id_is_replaced(gateway: httpx.AsyncClient, sent: str) -> None:
    """An empty, long or odd X-Request-ID is not trusted: the gateway mints its own."""
    response = await gateway.get("/health", headers={b"X-Request-ID": sent.encode()})
    minted = response.headers["X-Request-ID"]
    assert minted != sent
    assert len(minted) == 32


async def test_minted_request_ids_are_distinct_hex(gateway: httpx.AsyncClient) -> None:
    """A minted ID names one request: no two alike."""
    minted = [(await gateway.get("/health")).headers["X-Request-ID"] for _ in range(50)]
    assert len(set(minted)) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in minted)


def test_a_forked_worker_mints_request_ids_of_its_own() -> None:
    """IDs are a per-process random half and a counter: a forked worker draws a new half."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child only writes its ID, whatever happens
        try:
            os.write(write, request_ids.new().encode())
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert re.fullmatch(r"[0-9a-f]{32}", from_child)
    assert from_child[:16] != request_ids.new()[:16]


async def test_graphql_validation_errors_carry_the_request_id(gateway: httpx.AsyncClient) -> None:
    """Even an error raised before any resolver runs names the request."""
    response = await gateway.post("/graphql", json={"query": "{ nope }"})
    rid = response.headers["X-Request-ID"]
    assert response.json()["errors"][0]["extensions"]["requestId"] == rid
    assert response.headers["X-Canaduck-Completed"] == "false"


async def test_complete_graphql_answer_says_so(gateway: httpx.AsyncClient) -> None:
    """A GraphQL answer without errors carries X-Canaduck-Completed: true."""
    response = await gateway.post("/graphql", json={"query": SEED_QUERY})
    assert response.headers["X-Canaduck-Completed"] == "true"


async def test_rest_problems_carry_the_request_id(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """Problem JSON of the REST door names the request too."""
    joke.fault = "dead"
    response = await gateway.get("/joke", headers={"X-Request-ID": "r-1"})
    assert response.json()["requestId"] == "r-1"
    assert response.headers["Retry-After"] == "1"


async def test_oversized_body_is_413(gateway: httpx.AsyncClient, joke: FakeUpstream) -> None:
    """A request body over 64 KiB is refused before parsing, with no upstream call."""
    query = "{ joke { text } }" + " " * (64 * 1024)
    response = await gateway.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert response.json()["code"] == "REQUEST_TOO_LARGE"
    assert joke.calls == []


async def test_ready_reports_each_upstream(gateway: httpx.AsyncClient, joke: FakeUpstream) -> None:
    """/ready says which upstream is usable, with breaker state and the last call."""
    await gateway.get("/weather", params={"city": "Rodez"})
    joke.fault = "dead"
    response = await gateway.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["upstreams"]["weather"]["usable"] is True
    assert body["upstreams"]["weather"]["lastCall"]["code"] == "OK"
    assert body["upstreams"]["joke"]["usable"] is False
    assert body["upstreams"]["joke"]["probe"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert body["upstreams"]["joke"]["breaker"] == "closed"


async def test_ready_is_503_when_nothing_is_usable(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """With both upstreams down the gateway is not ready."""
    weather.fault = joke.fault = "dead"
    response = await gateway.get("/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_request_deadline_bounds_the_fan_out(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """A request deadline shorter than the upstream one cuts the fan-out short, with errors."""
    settings = GatewaySettings(
        request_timeout_seconds=0.6, upstream_timeout_seconds=0.5, upstream_retries=0
    )
    weather.delay_seconds = 3
    async with serve(settings, weather, joke) as gateway:
        started = time.perf_counter()
        body = await graphql(gateway, SEED_QUERY)
    assert time.perf_counter() - started < 1.5  # the weather service takes 3 s
    assert body["data"]["fullinfo"]["joke"]
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_TIMEOUT"


def test_upstream_deadline_must_fit_in_the_request_deadline() -> None:
    """A configuration where an upstream may outlive the request fails at start-up."""
    with pytest.raises(ValueError, match="must be below"):
        GatewaySettings(upstream_timeout_seconds=3, request_timeout_seconds=3)
