"""A shared cache that hangs: the real gateway over real Redis, through a switchable port.

The gateway's ``CACHE_URL`` points at a :class:`~tests.support.tcp_switch.TcpSwitch` in
front of the machine's Redis, so the test can turn Redis into a blackhole (connections
accepted, nothing ever answered) and back, as an operator would see it happen.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.processes import ServiceProcess, StubProcess, gateway_env, running
from tests.support.redis import REDIS_HOST, REDIS_PORT
from tests.support.tcp_switch import TcpSwitch

pytestmark = pytest.mark.e2e

QUERY = "query($city: String!) { fullinfo(city: $city) { city weather { temperature } joke } }"
COOLDOWN_SECONDS = 1.0
REQUESTS = 25
# The issue asks for "within 15 ms"; on a shared 2-core box the bound is kept generous, yet
# well below one cache timeout (100 ms): a gateway still waiting on Redis cannot pass.
MARGIN_SECONDS = 0.05

Record = Callable[[str, object], None]


@pytest.fixture
def switch() -> Iterator[TcpSwitch]:
    with TcpSwitch((REDIS_HOST, REDIS_PORT)) as switch:
        yield switch


@pytest.fixture
def gateway(
    weather_stub: StubProcess, joke_stub: StubProcess, switch: TcpSwitch, redis_prefix: str
) -> Iterator[ServiceProcess]:
    """A gateway caching weather in Redis through the switch; a 1 s cache breaker cooldown."""
    weather_stub.reset()
    joke_stub.reset()
    env = gateway_env(
        weather_stub,
        joke_stub,
        cache_key_prefix=redis_prefix,
        cache_breaker_cooldown_seconds=COOLDOWN_SECONDS,
    )
    env["CACHE_URL"] = switch.url
    with running("gateway", env=env, args=("--no-access-log",)) as process:
        yield process


def fullinfo(http: httpx.Client, city: str) -> tuple[float, dict[str, Any]]:
    """Seconds taken and the JSON body of one GraphQL fullinfo for ``city``."""
    started = time.perf_counter()
    response = http.post("/graphql", json={"query": QUERY, "variables": {"city": city}})
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["data"]["fullinfo"]["weather"] is not None, body
    return seconds, body


def miss_p50(http: httpx.Client, tag: str) -> float:
    """Median time of fullinfo for cities never asked before (every one a cache miss)."""
    times = [fullinfo(http, f"{tag} {i}")[0] for i in range(REQUESTS)]
    return statistics.median(times)


def weather_cache(body: dict[str, Any]) -> str:
    return str(body["extensions"]["sources"]["weather"]["cache"])


def test_hung_redis_costs_little_is_reported_and_is_left_behind_when_it_answers(
    gateway: ServiceProcess, switch: TcpSwitch, record_property: Record
) -> None:
    """With Redis blackholed, fullinfo stays about as fast as a healthy miss, /ready says the
    cache is degraded (still ready), and hits resume once Redis answers again."""
    with httpx.Client(base_url=gateway.url, timeout=10.0) as http:
        fullinfo(http, "Warmup")  # connections, first imports
        healthy = miss_p50(http, "Healthy")
        assert weather_cache(fullinfo(http, "Healthy 0")[1]) == "hit"

        switch.blackhole()
        for i in range(5):  # the first few pay the cache timeout, then its breaker opens
            fullinfo(http, f"Opening {i}")
        hung = miss_p50(http, "Hung")
        ready = http.get("/ready")
        metrics = http.get("/metrics").text
        record_property("healthy_miss_p50_ms", round(healthy * 1000, 1))
        record_property("hung_redis_p50_ms", round(hung * 1000, 1))
        assert hung <= healthy + MARGIN_SECONDS, (healthy, hung)
        assert ready.status_code == 200
        assert ready.json()["cache"]["status"] == "degraded"
        assert "canaduck_cache_breaker_state 2.0" in metrics
        assert 'canaduck_cache_errors_total{operation="get"}' in metrics

        switch.forward()
        deadline = time.monotonic() + 10 * COOLDOWN_SECONDS
        result = ""
        while time.monotonic() < deadline and result != "hit":
            time.sleep(COOLDOWN_SECONDS / 4)
            fullinfo(http, "Back")
            result = weather_cache(fullinfo(http, "Back")[1])
        assert result == "hit"
        assert http.get("/ready").json()["cache"]["status"] == "ok"
