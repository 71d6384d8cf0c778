"""Gateway replicas share one cache through Redis: real processes, the machine's Redis."""

from __future__ import annotations

from contextlib import AbstractContextManager

import httpx
import pytest

from tests.support.processes import ServiceProcess, StubProcess, gateway_env, running
from tests.support.redis import REDIS_URL

pytestmark = pytest.mark.e2e

QUERY = {"query": '{ fullinfo(city: "Rodez") { weather { city temperature } } }'}


def replica(
    weather: StubProcess, joke: StubProcess, prefix: str
) -> AbstractContextManager[ServiceProcess]:
    env = gateway_env(weather, joke, upstream_retries=0, cache_key_prefix=prefix)
    return running("gateway", env={**env, "CACHE_URL": REDIS_URL})


def test_one_replica_fills_the_other_hits(
    weather_stub: StubProcess, joke_stub: StubProcess, redis_prefix: str
) -> None:
    """Two gateway processes on one Redis: the weather service is called once for both."""
    with (
        replica(weather_stub, joke_stub, redis_prefix) as first,
        replica(weather_stub, joke_stub, redis_prefix) as second,
    ):
        filled = httpx.post(f"{first.url}/graphql", json=QUERY, timeout=10).json()
        served = httpx.post(f"{second.url}/graphql", json=QUERY, timeout=10).json()
    assert weather_stub.stats()["calls"] == 1
    assert filled["extensions"]["sources"]["weather"]["cache"] == "miss"
    assert served["extensions"]["sources"]["weather"]["cache"] == "hit"
    assert served["data"] == filled["data"]
