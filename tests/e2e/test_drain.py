"""SIGTERM drains the real gateway process: readiness fails first, nothing in flight is lost."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.processes import ServiceProcess, StubProcess, gateway_env, running

pytestmark = pytest.mark.e2e

QUERY = {"query": '{ fullinfo(city: "Rodez") { weather { temperature } joke } }'}
DRAIN_SECONDS = 2.0
UPSTREAM_SECONDS = 0.4  # every request is in flight this long
CLIENTS = 16
# A request sent this close to the end of the drain may race the listener closing; the
# promise is for requests that started before the drain ended.
RACE_SECONDS = 0.3
# The drain, then requests in flight finish within their deadline (3 s) and pools close.
EXIT_WITHIN_SECONDS = DRAIN_SECONDS + 3.0 + 3.0


@pytest.fixture
def gateway(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[ServiceProcess]:
    weather_stub.reset()
    joke_stub.reset()
    joke_stub.set_mode("latency", seconds=UPSTREAM_SECONDS)
    env = gateway_env(
        weather_stub,
        joke_stub,
        shutdown_drain_seconds=DRAIN_SECONDS,
        cache_weather_ttl_seconds=0,
    )
    with running("gateway", env=env, args=("--no-access-log",)) as process:
        yield process
    joke_stub.reset()


@dataclass(frozen=True)
class Sent:
    at: float  # monotonic time the request was sent
    status: int | None  # None: no answer (refused, reset)


async def load(url: str, until: float, sent: list[Sent]) -> None:
    """CLIENTS users sending fullinfo back to back until ``until`` or the gateway is gone."""

    async def user() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
            while time.monotonic() < until:
                at = time.monotonic()
                try:
                    status: int | None = (await http.post("/graphql", json=QUERY)).status_code
                except httpx.TransportError:
                    status = None
                sent.append(Sent(at, status))
                if status is None:
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(user() for _ in range(CLIENTS)))


async def readiness_during(url: str, seconds: float) -> list[int]:
    statuses = []
    async with httpx.AsyncClient(base_url=url, timeout=2.0) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            statuses.append((await http.get("/ready")).status_code)
            await asyncio.sleep(0.2)
    return statuses


def test_sigterm_under_load_fails_readiness_completes_every_request_and_exits(
    gateway: ServiceProcess,
) -> None:
    """During the drain /ready is 503 and requests still succeed; every request sent before
    the drain ended is answered 200; the process then exits cleanly."""
    assert gateway.process is not None
    sent: list[Sent] = []

    async def scenario() -> tuple[float, list[int]]:
        until = time.monotonic() + 1.0 + DRAIN_SECONDS + 2.0
        clients = asyncio.create_task(load(gateway.url, until, sent))
        await asyncio.sleep(1.0)  # under load
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        ready = await readiness_during(gateway.url, DRAIN_SECONDS - 0.5)
        await clients
        return signalled, ready

    signalled, ready = asyncio.run(scenario())
    code = gateway.process.wait(timeout=EXIT_WITHIN_SECONDS)
    drain_end = signalled + DRAIN_SECONDS
    before_end = [s for s in sent if s.at < drain_end - RACE_SECONDS]
    during = [s for s in before_end if s.at > signalled]
    assert ready, "/ready was never asked during the drain"
    assert set(ready) == {503}
    assert during, "no request was sent during the drain"
    assert [s for s in before_end if s.status != 200] == []
    assert code in (0, -signal.SIGTERM), gateway.output()


def test_second_sigterm_exits_at_once(gateway: ServiceProcess) -> None:
    """A second SIGTERM during the drain stops the gateway without waiting for the drain."""
    assert gateway.process is not None
    gateway.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert httpx.get(gateway.url + "/ready", timeout=2.0).status_code == 503
    started = time.monotonic()
    gateway.process.send_signal(signal.SIGTERM)
    try:
        code = gateway.process.wait(timeout=DRAIN_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail("the second SIGTERM did not stop the gateway before the drain ended")
    assert time.monotonic() - started < DRAIN_SECONDS
    assert code in (0, -signal.SIGTERM)
