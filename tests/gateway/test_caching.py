"""The cache as clients see it: fewer upstream calls, provenance, stale answers on failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.config import GatewaySettings
from tests.gateway.conftest import graphql, serve
from tests.support.fake_upstreams import FakeUpstream
from tests.support.redis import REDIS_URL

WEATHER_ONLY = "query($c: String!) { fullinfo(city: $c) { weather { temperature } } }"
SEED_QUERY = '{ fullinfo(city: "Rodez") { city weather { temperature } joke } }'


def settings(**overrides: object) -> GatewaySettings:
    values: dict[str, object] = {"upstream_retries": 0, "cache_weather_ttl_seconds": 60.0}
    return GatewaySettings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
async def gateway(weather: FakeUpstream, joke: FakeUpstream) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings(), weather, joke) as client:
        yield client


async def test_weather_is_served_from_the_cache(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """A second fullinfo for the same city costs the weather service nothing, and says so."""
    first = await graphql(gateway, SEED_QUERY)
    second = await graphql(gateway, SEED_QUERY)
    assert len(weather.calls) == 1
    assert first["extensions"]["sources"]["weather"]["cache"] == "miss"
    assert second["extensions"]["sources"]["weather"]["cache"] == "hit"
    assert second["data"]["fullinfo"]["weather"] == first["data"]["fullinfo"]["weather"]


async def test_city_spelling_shares_one_entry(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """ "Rodez", "rodez" and "RODEZ" are one city, so one upstream call."""
    for city in ("Rodez", "rodez", "RODEZ"):
        await graphql(gateway, WEATHER_ONLY, {"c": city})
    assert len(weather.calls) == 1


async def test_languages_are_cached_apart(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """French and English labels are different answers."""
    for lang in ("FR", "EN", "FR"):
        await graphql(gateway, f'{{ weather(city: "Rodez", lang: {lang}) {{ condition }} }}')
    assert len(weather.calls) == 2


async def test_jokes_are_not_cached_by_default(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """Every screen gets its own joke: no joke caching unless configured."""
    first = await graphql(gateway, "{ joke { text } }")
    await graphql(gateway, "{ joke { text } }")
    assert len(joke.calls) == 2
    assert first["extensions"]["sources"]["joke"]["cache"] == "off"


async def test_concurrent_identical_misses_make_one_call(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """100 screens asking at once for a city not in cache cost one weather call."""
    weather.delay_seconds = 0.2
    # Room for all 100 in flight: this measures coalescing, not the shedding cap (64).
    async with serve(settings(max_in_flight=256), weather, joke) as gateway:
        bodies = await asyncio.gather(
            *(graphql(gateway, WEATHER_ONLY, {"c": "Rodez"}) for _ in range(100))
        )
    assert len(weather.calls) == 1
    results = sorted(b["extensions"]["sources"]["weather"]["cache"] for b in bodies)
    assert results.count("miss") == 1
    assert results.count("coalesced") == 99


async def test_entries_expire_after_their_ttl(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """After the TTL the weather service is asked again."""
    async with serve(settings(cache_weather_ttl_seconds=0.2), weather, joke) as gateway:
        await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
        await asyncio.sleep(0.3)
        await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
    assert len(weather.calls) == 2


async def test_garbage_is_never_cached(gateway: httpx.AsyncClient, weather: FakeUpstream) -> None:
    """A 200 that is not the weather contract is not kept: the next call asks again."""
    weather.fault = "wrong_shape"
    await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
    weather.fault = None
    body = await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
    assert len(weather.calls) == 2
    assert body["data"]["fullinfo"]["weather"] == {"temperature": 21.2}


@pytest.fixture
async def stale_gateway(
    weather: FakeUpstream, joke: FakeUpstream
) -> AsyncIterator[httpx.AsyncClient]:
    """Weather cached 0.1 s, kept 60 s more for failures; its first answer is stored."""
    async with serve(
        settings(cache_weather_ttl_seconds=0.1, cache_max_stale_seconds=60), weather, joke
    ) as client:
        await client.get("/fullinfo", params={"city": "Rodez"})
        await asyncio.sleep(0.15)
        weather.fault = "dead"
        yield client


async def test_graphql_serves_stale_weather_with_its_age(stale_gateway: httpx.AsyncClient) -> None:
    """A dead weather service: the last reading, plus STALE_DATA with its age and cause."""
    body = await graphql(stale_gateway, SEED_QUERY)
    assert body["data"]["fullinfo"]["weather"] == {"temperature": 21.2}
    [error] = body["errors"]
    assert error["path"] == ["fullinfo", "weather"]
    assert error["extensions"]["code"] == "STALE_DATA"
    assert error["extensions"]["cause"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["ageSeconds"] >= 0
    assert body["extensions"]["sources"]["weather"]["cache"] == "stale"


async def test_rest_fullinfo_serves_stale_weather_and_says_so(
    stale_gateway: httpx.AsyncClient,
) -> None:
    """/fullinfo keeps the weather, lists STALE_DATA and marks the answer incomplete."""
    response = await stale_gateway.get("/fullinfo", params={"city": "Rodez"})
    assert response.status_code == 200
    assert response.headers["X-Canaduck-Completed"] == "false"
    body = response.json()
    assert body["weather"]["temperature"] == 21.2
    assert [e["code"] for e in body["errors"]] == ["STALE_DATA"]
    assert body["sources"]["weather"]["cache"] == "stale"
    assert body["sources"]["joke"]["cache"] == "off"


async def test_passthrough_serves_stale_bytes_with_age(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """/weather relays the stored bytes, with X-Canaduck-Cache: stale and an Age header."""
    async with serve(settings(cache_weather_ttl_seconds=0.1), weather, joke) as gateway:
        fresh = await gateway.get("/weather", params={"city": "Rodez"})
        await asyncio.sleep(0.15)
        weather.fault = "503"
        stale = await gateway.get("/weather", params={"city": "Rodez"})
    assert fresh.headers["X-Canaduck-Cache"] == "miss"
    assert stale.status_code == 200
    assert stale.content == fresh.content
    assert stale.headers["X-Canaduck-Cache"] == "stale"
    assert int(stale.headers["Age"]) >= 0


async def test_nothing_stale_beyond_the_stale_window(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """Past TTL + max stale, a failure is a failure again."""
    short = settings(cache_weather_ttl_seconds=0.1, cache_max_stale_seconds=0.1)
    async with serve(short, weather, joke) as gateway:
        await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
        await asyncio.sleep(0.25)
        weather.fault = "dead"
        body = await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
    assert body["data"]["fullinfo"]["weather"] is None
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"


async def test_open_breaker_still_serves_stale(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """With the weather circuit open the gateway answers from its stale copy, instantly."""
    flaky = settings(cache_weather_ttl_seconds=0.05, breaker_failure_threshold=1)
    async with serve(flaky, weather, joke) as gateway:
        await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
        await asyncio.sleep(0.1)
        weather.fault = "dead"
        await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})  # opens the circuit
        body = await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
    assert body["data"]["fullinfo"]["weather"] == {"temperature": 21.2}
    assert body["errors"][0]["extensions"]["cause"] == "UPSTREAM_CIRCUIT_OPEN"


async def test_replicas_share_entries_through_redis(redis_prefix: str) -> None:
    """Two gateways on one Redis: the first fills the cache, the second only reads it."""
    shared = settings(cache_url=REDIS_URL, cache_key_prefix=redis_prefix)
    first_weather, second_weather, joke = (
        FakeUpstream("weather"),
        FakeUpstream("weather"),
        FakeUpstream("joke"),
    )
    async with serve(shared, first_weather, joke) as first:
        await graphql(first, WEATHER_ONLY, {"c": "Rodez"})
    async with serve(shared, second_weather, joke) as second:
        body = await graphql(second, WEATHER_ONLY, {"c": "Rodez"})
    assert (len(first_weather.calls), len(second_weather.calls)) == (1, 0)
    assert body["extensions"]["sources"]["weather"]["cache"] == "hit"
    assert body["data"]["fullinfo"]["weather"] == {"temperature": 21.2}


async def test_redis_serves_stale_too(redis_prefix: str, joke: FakeUpstream) -> None:
    """The stale window works the same with the Redis backend."""
    shared = settings(
        cache_url=REDIS_URL,
        cache_key_prefix=redis_prefix,
        cache_weather_ttl_seconds=0.1,
        cache_max_stale_seconds=60,
    )
    weather = FakeUpstream("weather")
    async with serve(shared, weather, joke) as gateway:
        await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
        await asyncio.sleep(0.15)
        weather.fault = "dead"
        body = await graphql(gateway, WEATHER_ONLY, {"c": "Rodez"})
    assert body["data"]["fullinfo"]["weather"] == {"temperature": 21.2}
    assert body["errors"][0]["extensions"]["code"] == "STALE_DATA"
