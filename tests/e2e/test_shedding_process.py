"""Shedding in the real process: the refusal uvicorn's protocol writes before any task.

In-process tests (tests/gateway/test_shedding.py) go through the shedder's middleware; a
real ``python -m gateway`` refuses most requests earlier, from the HTTP parser
(canaduck.protocol). These tests hold the one slot of a gateway with
``GATEWAY_MAX_IN_FLIGHT=1`` and look at what a client gets on a raw keep-alive connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.processes import ServiceProcess, StubProcess, gateway_env, running

pytestmark = pytest.mark.e2e

QUERY = json.dumps({"query": '{ fullinfo(city: "Rodez") { joke } }'}).encode()
HOLD_SECONDS = 1.0  # the joke stub's latency: how long the one slot stays taken


@pytest.fixture
def gateway(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[ServiceProcess]:
    weather_stub.reset()
    joke_stub.reset()
    env = gateway_env(weather_stub, joke_stub, max_in_flight=1, upstream_retries=0)
    with running("gateway", env=env, args=("--no-access-log",)) as process:
        yield process
    joke_stub.reset()


def post(path: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: gw", "Content-Type: application/json", *headers]
    return ("\r\n".join([*lines, f"Content-Length: {len(body)}", "", ""])).encode() + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 5.0)
    return int(status_line.split()[1]), headers, body


async def hold_the_slot(url: str, joke_stub: StubProcess) -> asyncio.Task[httpx.Response]:
    joke_stub.set_mode("latency", seconds=HOLD_SECONDS)
    client = httpx.AsyncClient(base_url=url, timeout=10.0)
    task = asyncio.create_task(client.post("/graphql", content=QUERY, headers=JSON))
    task.add_done_callback(lambda _: asyncio.ensure_future(client.aclose()))
    for _ in range(100):  # until the joke call is in flight (at most ~1 s)
        if joke_stub.stats()["calls"]:
            return task
        await asyncio.sleep(0.01)
    raise AssertionError("the slow request never reached the joke service")


JSON = {"content-type": "application/json"}


async def test_a_refused_request_gets_the_overloaded_answer_and_keeps_its_connection(
    gateway: ServiceProcess, joke_stub: StubProcess
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        held = await hold_the_slot(gateway.url, joke_stub)
        started = time.perf_counter()
        writer.write(post("/graphql", QUERY, "X-Request-ID: shed-me-1"))
        status, headers, body = await read_answer(reader)
        assert time.perf_counter() - started < HOLD_SECONDS / 2  # at once, not after the slot
        assert status == 503
        assert headers["retry-after"] == "1"
        assert headers["content-type"] == "application/json"
        assert headers["x-request-id"] == "shed-me-1"
        [error] = json.loads(body)["errors"]
        assert error["extensions"] == {
            "code": "OVERLOADED",
            "retryable": True,
            "retryAfterSeconds": 1,
            "requestId": "shed-me-1",
        }

        writer.write(post("/fullinfo?city=Rodez", b"", "Accept: application/json"))
        status, headers, body = await read_answer(reader)
        assert status == 503
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["code"] == "OVERLOADED"

        assert (await held).status_code == 200
        # The same connection, once the slot is free: served, and the refused bodies
        # were skipped, not read as requests.
        writer.write(post("/graphql", QUERY))
        status, _, body = await read_answer(reader)
        assert status == 200, body
        assert "joke" in json.loads(body)["data"]["fullinfo"]
    finally:
        writer.close()


async def test_operators_are_answered_and_see_the_refusals(
    gateway: ServiceProcess, joke_stub: StubProcess
) -> None:
    held = await hold_the_slot(gateway.url, joke_stub)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=5.0) as http:
        refused = await http.post("/graphql", content=QUERY, headers=JSON)
        health, ready = await http.get("/health"), await http.get("/ready")
        metrics = (await http.get("/metrics")).text
    assert refused.status_code == 503
    assert (health.status_code, ready.status_code) == (200, 200)
    assert 'canaduck_shed_requests_total{door="graphql"} 1.0' in metrics
    assert (await held).status_code == 200


@pytest.fixture
def pausing_gateway(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[ServiceProcess]:
    weather_stub.reset()
    joke_stub.reset()
    env = gateway_env(
        weather_stub, joke_stub, max_in_flight=1, upstream_retries=0, shed_pause_seconds=0.3
    )
    with running("gateway", env=env, args=("--no-access-log",)) as process:
        yield process
    joke_stub.reset()


async def test_a_client_that_resends_at_once_is_refused_once_per_pause(
    pausing_gateway: ServiceProcess, joke_stub: StubProcess
) -> None:
    """GATEWAY_SHED_PAUSE_SECONDS: the first 503 is immediate; the request sent the moment
    it arrived, on the same connection, is read (and refused) only after the pause."""
    reader, writer = await asyncio.open_connection("127.0.0.1", pausing_gateway.port)
    try:
        held = await hold_the_slot(pausing_gateway.url, joke_stub)
        started = time.perf_counter()
        writer.write(post("/graphql", QUERY))
        status, _, _ = await read_answer(reader)
        first = time.perf_counter() - started
        writer.write(post("/graphql", QUERY))
        status_again, headers, _ = await read_answer(reader)
        second = time.perf_counter() - started - first
        assert (status, status_again) == (503, 503)
        assert headers["retry-after"] == "1"
        assert first < 0.25  # at once (generous: a loaded CI machine)
        assert second >= 0.3 - 0.01  # not before the pause (the loop's clock ticks in ms)
        assert (await held).status_code == 200
    finally:
        writer.close()
