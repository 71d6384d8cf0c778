"""The GraphQL front door, in-process, over fake upstreams that count their calls."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import graphql
from tests.support.fake_upstreams import DUCK_JOKE, FakeUpstream

SEED_QUERY = '{ fullinfo(city: "Rodez") { city weather { temperature condition } joke } }'


async def test_fullinfo_returns_the_seed_shape(gateway: httpx.AsyncClient) -> None:
    """The seed's query returns city, weather{temperature, condition} and the joke text."""
    body = await graphql(gateway, SEED_QUERY)
    assert "errors" not in body
    assert {"data": body["data"]} == {
        "data": {
            "fullinfo": {
                "city": "Rodez",
                "weather": {"temperature": 21.2, "condition": "nuageux"},
                "joke": DUCK_JOKE,
            }
        }
    }


async def test_selecting_only_joke_never_calls_weather(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """A display that asks only for the joke costs the weather service nothing."""
    body = await graphql(gateway, '{ fullinfo(city: "Rodez") { joke } }')
    assert body["data"] == {"fullinfo": {"joke": DUCK_JOKE}}
    assert (len(weather.calls), len(joke.calls)) == (0, 1)


async def test_selecting_only_weather_never_calls_joke(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """Asking only for the weather costs the joke service nothing."""
    await graphql(gateway, '{ fullinfo(city: "Rodez") { weather { temperature } } }')
    assert (len(weather.calls), len(joke.calls)) == (1, 0)


async def test_selecting_only_city_calls_no_upstream(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """The city echo needs no upstream at all."""
    body = await graphql(gateway, '{ fullinfo(city: "  Rodez ") { city } }')
    assert body["data"] == {"fullinfo": {"city": "Rodez"}}
    assert weather.calls == joke.calls == []


async def test_fields_fan_out_concurrently(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """Both upstreams slow by 0.4 s: the two calls are in flight at the same time.

    Asserted on the upstreams' own clocks (the calls overlap), not on the wall time of the
    whole request, which a busy CI machine can stretch past any fixed bound.
    """
    weather.delay_seconds = joke.delay_seconds = 0.4
    body = await graphql(gateway, SEED_QUERY)
    assert "errors" not in body
    [(weather_start, weather_end)], [(joke_start, joke_end)] = weather.spans, joke.spans
    # Overlapping: each started before the other ended (one after the other fails this).
    assert weather_start < joke_end
    assert joke_start < weather_end


async def test_dead_joke_service_nulls_only_the_joke(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """With the joke service down the weather still arrives, with an error at the joke."""
    joke.fault = "dead"
    body = await graphql(gateway, SEED_QUERY)
    assert body["data"] == {
        "fullinfo": {
            "city": "Rodez",
            "weather": {"temperature": 21.2, "condition": "nuageux"},
            "joke": None,
        }
    }
    [error] = body["errors"]
    assert error["path"] == ["fullinfo", "joke"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["service"] == "joke"


async def test_dead_weather_service_is_harmless_when_weather_is_not_selected(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """A joke-only query succeeds without errors while the weather service is down."""
    weather.fault = "dead"
    body = await graphql(gateway, '{ fullinfo(city: "Rodez") { joke } }')
    assert "errors" not in body
    assert body["data"] == {"fullinfo": {"joke": DUCK_JOKE}}
    assert set(body["extensions"]["sources"]) == {"joke"}


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("500", "UPSTREAM_BAD_RESPONSE"),
        ("503", "UPSTREAM_UNAVAILABLE"),
        ("html", "UPSTREAM_BAD_RESPONSE"),
        ("truncated", "UPSTREAM_BAD_RESPONSE"),
        ("wrong_shape", "UPSTREAM_BAD_RESPONSE"),
        ("dead", "UPSTREAM_UNAVAILABLE"),
    ],
)
async def test_weather_faults_null_the_weather_with_a_precise_code(
    gateway: httpx.AsyncClient, weather: FakeUpstream, fault: Any, code: str
) -> None:
    """Every kind of weather failure nulls only the weather and names its cause."""
    weather.fault = fault
    body = await graphql(gateway, SEED_QUERY)
    assert body["data"]["fullinfo"]["weather"] is None
    assert body["data"]["fullinfo"]["joke"] == DUCK_JOKE
    [error] = body["errors"]
    assert (error["path"], error["extensions"]["code"]) == (["fullinfo", "weather"], code)
    assert "10.0.0.5" not in str(body)
    assert "http://" not in str(body)


async def test_slow_weather_times_out_into_a_partial_answer(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """A weather service slower than the deadline yields UPSTREAM_TIMEOUT, joke intact."""
    weather.delay_seconds = 2.0
    started = time.perf_counter()
    body = await graphql(gateway, SEED_QUERY)
    assert time.perf_counter() - started < 1.5
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    assert body["data"]["fullinfo"]["joke"] == DUCK_JOKE


async def test_unknown_city_is_reported_as_city_not_found(gateway: httpx.AsyncClient) -> None:
    """An unknown city nulls the weather with CITY_NOT_FOUND, not an upstream failure."""
    body = await graphql(gateway, '{ fullinfo(city: "Nowhere") { weather { city } joke } }')
    [error] = body["errors"]
    assert error["extensions"]["code"] == "CITY_NOT_FOUND"
    assert error["path"] == ["fullinfo", "weather"]


@pytest.mark.parametrize("city", ["", "Paris&units=x", "../admin", "a\u0000b", "x" * 101])
async def test_invalid_city_is_a_graphql_error_with_no_upstream_call(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream, city: str
) -> None:
    """Bad city text is refused with INVALID_INPUT before any upstream is called."""
    body = await graphql(
        gateway, "query($c: String!) { fullinfo(city: $c) { weather { city } joke } }", {"c": city}
    )
    assert body["data"] == {"fullinfo": None}
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert weather.calls == joke.calls == []


async def test_lang_en_reaches_both_upstreams(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """lang: EN is forwarded to both services as lang=en."""
    body = await graphql(
        gateway, '{ fullinfo(city: "Rodez", lang: EN) { weather { condition } joke } }'
    )
    assert body["data"]["fullinfo"]["weather"] == {"condition": "cloudy"}
    assert weather.calls[0]["lang"] == joke.calls[0]["lang"] == "en"


async def test_weather_and_joke_root_fields(gateway: httpx.AsyncClient) -> None:
    """The single-service root fields return the full weather and the joke with its id."""
    body = await graphql(
        gateway,
        '{ weather(city: "Rodez", country: "fr") { city country '
        "conditionCode humidity windKph observedAt source } "
        "joke { id text lang } }",
    )
    assert body["data"] == {
        "weather": {
            "city": "Rodez",
            "country": "FR",
            "conditionCode": "cloudy",
            "humidity": 71,
            "windKph": 12.5,
            "observedAt": "2026-11-28T14:00:00+01:00",
            "source": "simulated",
        },
        "joke": {"id": 7, "text": DUCK_JOKE, "lang": "FR"},
    }


async def test_country_is_validated_and_forwarded(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """country narrows the city lookup upstream; a malformed code is INVALID_INPUT."""
    await graphql(gateway, '{ weather(city: "Paris", country: "us") { city } }')
    assert weather.calls == [{"city": "Paris", "lang": "fr", "country": "US"}]
    body = await graphql(gateway, '{ weather(city: "Paris", country: "USA") { city } }')
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
