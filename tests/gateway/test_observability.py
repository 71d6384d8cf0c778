"""What an operator sees: /metrics counters after real requests, one log line per request."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from canaduck.protocol import ON_DISCONNECT_KEY
from gateway.config import GatewaySettings
from gateway.main import create_app
from tests.gateway.conftest import graphql, serve
from tests.support.fake_upstreams import FakeUpstream


def sample(metrics_text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text format (0 when absent)."""
    for line in metrics_text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_upstreams_and_breakers(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """Requests by route/operation/status, upstream outcomes, latency and breaker state."""
    await gateway.get("/fullinfo", params={"city": "Rodez"})
    await graphql(gateway, '{ fullinfo(city: "Rodez") { joke } }')
    joke.fault = "dead"
    await gateway.get("/joke")
    text = (await gateway.get("/metrics")).text

    assert sample(text, "canaduck_requests_total", route="/fullinfo", status="200") == 1
    assert (
        sample(
            text, "canaduck_requests_total", route="/graphql", operation="fullinfo", status="200"
        )
        == 1
    )
    assert sample(text, "canaduck_requests_total", route="/joke", status="503") == 1
    assert sample(text, "canaduck_upstream_calls_total", service="joke", outcome="OK") == 2
    assert (
        sample(
            text, "canaduck_upstream_calls_total", service="joke", outcome="UPSTREAM_UNAVAILABLE"
        )
        == 1
    )
    assert sample(text, "canaduck_upstream_calls_total", service="weather", outcome="OK") == 1
    assert sample(text, "canaduck_upstream_call_duration_seconds_count", service="weather") == 1
    assert sample(text, "canaduck_request_duration_seconds_count", route="/fullinfo") == 1
    assert sample(text, "canaduck_breaker_state", service="joke") == 0
    assert "canaduck_requests_in_flight" in text


async def test_open_breaker_shows_in_metrics(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """An open circuit reads 2 on canaduck_breaker_state for that service."""
    joke.fault = "dead"
    settings = GatewaySettings(upstream_retries=0, breaker_failure_threshold=2)
    async with serve(settings, weather, joke) as gateway:
        for _ in range(2):
            await gateway.get("/joke")
        text = (await gateway.get("/metrics")).text
    assert sample(text, "canaduck_breaker_state", service="joke") == 2
    assert sample(text, "canaduck_breaker_state", service="weather") == 0


async def test_client_operation_names_never_become_labels(gateway: httpx.AsyncClient) -> None:
    """A client cannot grow the metrics with made-up operation names."""
    for i in range(5):
        await gateway.post(
            "/graphql", json={"query": f"query Op{i} {{ __typename }}", "operationName": f"Op{i}"}
        )
    text = (await gateway.get("/metrics")).text
    assert "Op3" not in text
    assert sample(text, "canaduck_requests_total", route="/graphql", operation="__typename") == 5


async def test_unknown_paths_share_one_label(gateway: httpx.AsyncClient) -> None:
    """Random paths are counted under "unmatched", not one series each."""
    for i in range(3):
        await gateway.get(f"/probe-{i}")
    text = (await gateway.get("/metrics")).text
    assert "probe-1" not in text
    assert sample(text, "canaduck_requests_total", route="unmatched", status="404") == 3


async def test_one_log_line_per_request_with_its_story(
    gateway: httpx.AsyncClient, joke: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request logs one line: request ID, operation, route, status, upstream outcomes."""
    joke.fault = "dead"
    caplog.set_level(logging.INFO)
    await gateway.post(
        "/graphql",
        headers={"X-Request-ID": "log-me"},
        json={"query": 'query Screen { fullinfo(city: "Rodez") { joke } }'},
    )
    lines = [
        r for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "request"
    ]
    [line] = lines
    event = line.msg
    assert isinstance(event, dict)
    assert event["request_id"] == "log-me"
    assert event["operation"] == "Screen"
    assert event["route"] == "/graphql"
    assert event["status"] == 200
    assert event["upstreams"]["joke"]["status"] == "UPSTREAM_UNAVAILABLE"


@pytest.mark.parametrize(
    "when", ["reading the body", "waiting for the upstreams", "told by the server"]
)
async def test_a_client_that_hangs_up_is_a_499_not_an_error(
    weather: FakeUpstream, joke: FakeUpstream, when: str
) -> None:
    """No answer went out because the client left first: no exception escapes the app, and
    the request is counted 499 ("client closed request"), not as a server error."""
    weather.delay_seconds = joke.delay_seconds = 5.0
    app = create_app(
        GatewaySettings(), transports={"weather": weather.transport, "joke": joke.transport}
    )
    body = b'{"query": "{ fullinfo(city: \\"Rodez\\") { joke } }"}'
    gone = asyncio.Event()

    async def receive() -> dict[str, object]:
        if when != "reading the body" and not gone.is_set():
            gone.set()
            return {"type": "http.request", "body": body, "more_body": False}
        if when == "told by the server":
            await asyncio.Event().wait()  # canaduck.protocol says it, not receive()
        await asyncio.sleep(0.2)  # the upstream calls are under way by then
        return {"type": "http.disconnect"}

    async def server_says_gone() -> None:
        await asyncio.sleep(0.2)
        scope[ON_DISCONNECT_KEY]()

    sent: list[dict[str, object]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"gw")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    async with LifespanManager(app) as manager:
        scope["state"] = dict(manager._state)
        if when == "told by the server":
            scope[ON_DISCONNECT_KEY] = None  # the slot canaduck.protocol provides
            asyncio.get_running_loop().call_soon(asyncio.ensure_future, server_says_gone())
        async with asyncio.timeout(3):
            await manager.app(scope, receive, send)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gw"
        ) as client:
            text = (await client.get("/metrics")).text
    assert sent == []
    assert sample(text, "canaduck_requests_total", route="/graphql", status="499") == 1
    assert sample(text, "canaduck_requests_total", route="/graphql", status="500") == 0
