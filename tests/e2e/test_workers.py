"""``python -m gateway --workers N``: N processes on one port behave as one through Redis."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import psutil
import pytest

from tests.support.processes import StubProcess, gateway_env, running
from tests.support.redis import REDIS_URL

pytestmark = pytest.mark.e2e

QUERY = {"query": '{ fullinfo(city: "Rodez") { weather { city temperature } } }'}


def workers_of(pid: int, expected: int) -> list[psutil.Process]:
    """The supervisor's worker processes, once all of them are up."""
    deadline = time.monotonic() + 15
    while True:
        children = [
            child
            for child in psutil.Process(pid).children()
            if "resource_tracker" not in " ".join(child.cmdline())
        ]
        if len(children) >= expected or time.monotonic() > deadline:
            return children
        time.sleep(0.1)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def test_two_workers_share_one_cache(
    weather_stub: StubProcess, joke_stub: StubProcess, redis_prefix: str
) -> None:
    """Two workers answer on one port, and the weather service is called once for both."""
    env = gateway_env(weather_stub, joke_stub, upstream_retries=0, cache_key_prefix=redis_prefix)
    with running("gateway", env={**env, "CACHE_URL": REDIS_URL}, args=("--workers", "2")) as gw:
        workers = workers_of(gw.pid, 2)
        assert len(workers) == 2, gw.output()
        first = httpx.post(f"{gw.url}/graphql", json=QUERY, timeout=10).json()
        before = [cpu_seconds(worker) for worker in workers]

        def ask(_: int) -> dict[str, object]:
            # A new connection each time, so the kernel hands them to either worker.
            response = httpx.post(f"{gw.url}/graphql", json=QUERY, timeout=10)
            assert response.status_code == 200
            body: dict[str, object] = response.json()
            return body

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(80)))
        after = [cpu_seconds(worker) for worker in workers]
    assert first["extensions"]["sources"]["weather"]["cache"] == "miss"
    assert {a["extensions"]["sources"]["weather"]["cache"] for a in answers} == {"hit"}  # type: ignore[index]
    assert all(a["data"] == first["data"] for a in answers)
    assert weather_stub.stats()["calls"] == 1
    assert all(b > a for a, b in zip(before, after, strict=True)), "one worker served nothing"
