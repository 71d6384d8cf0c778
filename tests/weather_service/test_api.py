"""The /weather and /health contract, independent of where readings come from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from tests.weather_service.conftest import serve, use_provider
from weather_service.cities import Place
from weather_service.observations import Condition, Reading

CONTRACT_KEYS = [
    "city",
    "country",
    "latitude",
    "longitude",
    "timezone",
    "temperature",
    "condition",
    "condition_code",
    "humidity",
    "wind_kph",
    "observed_at",
    "source",
    "lang",
]


class FixedProvider:
    """Always the same raw reading, unrounded, observed at 14:00 in the place's zone."""

    def __init__(self, condition: Condition = Condition.CLOUDY) -> None:
        self.condition = condition

    async def current(self, place: Place) -> Reading:
        return Reading(
            temperature_celsius=21.24,
            humidity_percent=63.6,
            wind_kph=12.349,
            condition=self.condition,
            observed_at=datetime(2026, 11, 28, 14, tzinfo=ZoneInfo(place.timezone)),
            source="simulated",
        )


@pytest.fixture
async def fixed(simulated_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The service answering FixedProvider's cloudy reading for any city."""
    use_provider(simulated_app, FixedProvider())
    async with serve(simulated_app) as http:
        yield http


async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    """GET /health answers 200 {"status": "ok"}."""
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_weather_answers_the_contract_keys_in_order(client: httpx.AsyncClient) -> None:
    """A /weather answer has exactly the documented keys, in the documented order."""
    response = await client.get("/weather", params={"city": "Rodez"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == CONTRACT_KEYS


async def test_values_are_rounded_for_display(fixed: httpx.AsyncClient) -> None:
    """Temperature and wind have one decimal, humidity is a whole percentage."""
    body = (await fixed.get("/weather", params={"city": "Rodez"})).json()
    assert (body["temperature"], body["wind_kph"], body["humidity"]) == (21.2, 12.3, 64)


async def test_labels_are_french_by_default(fixed: httpx.AsyncClient) -> None:
    """Without lang, the condition reads in French, as in the seed ("nuageux")."""
    body = (await fixed.get("/weather", params={"city": "Rodez"})).json()
    assert (body["condition"], body["condition_code"], body["lang"]) == ("nuageux", "cloudy", "fr")


async def test_lang_en_gives_english_labels(fixed: httpx.AsyncClient) -> None:
    """lang=en turns the label to English; the machine code stays the same."""
    body = (await fixed.get("/weather", params={"city": "Rodez", "lang": "en"})).json()
    assert (body["condition"], body["condition_code"], body["lang"]) == ("cloudy", "cloudy", "en")


async def test_observed_at_keeps_a_zero_utc_offset(fixed: httpx.AsyncClient) -> None:
    """A city on UTC shows "+00:00" like any other local time, not "Z"."""
    body = (await fixed.get("/weather", params={"city": "Timbuktu"})).json()
    assert body["observed_at"] == "2026-11-28T14:00:00+00:00"


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="missing city"),
        pytest.param({"city": ""}, id="empty city"),
        pytest.param({"city": "   "}, id="blank city"),
        pytest.param({"city": "a" * 101}, id="101 characters"),
        pytest.param({"city": "\x00"}, id="control character"),
        pytest.param({"city": "Paris&x=1"}, id="URL syntax"),
        pytest.param({"city": "Paris", "lang": "de"}, id="unknown lang"),
        pytest.param({"city": "Paris", "country": "FRA"}, id="three-letter country"),
        pytest.param({"city": "Paris", "country": "F1"}, id="digit in country"),
    ],
)
async def test_bad_input_is_a_422_problem(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    """Malformed queries get a 422 problem JSON with code INVALID_INPUT, never a 500."""
    response = await client.get("/weather", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "INVALID_INPUT"


async def test_openapi_documents_the_weather_report(client: httpx.AsyncClient) -> None:
    """/openapi.json describes the /weather answer with every contract key, and /docs serves."""
    document = (await client.get("/openapi.json")).json()
    assert document["info"]["title"] == "Canaduck weather service"
    assert list(document["components"]["schemas"]["WeatherReport"]["properties"]) == CONTRACT_KEYS
    assert (await client.get("/docs")).status_code == 200
