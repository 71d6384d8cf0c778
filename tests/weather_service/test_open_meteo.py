"""The Open-Meteo provider, against recorded answers (never the live API)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx

from tests.weather_service.conftest import OPEN_METEO_URL, RECORDINGS, recording
from weather_service.cities import Gazetteer

FORECAST = f"{OPEN_METEO_URL}/v1/forecast"


def answer(respx_mock: respx.MockRouter, **response: Any) -> respx.Route:
    """Make the next forecast calls get ``httpx.Response(**response)``."""
    return respx_mock.get(FORECAST).mock(return_value=httpx.Response(**response))


def with_current(name: str, **changes: Any) -> dict[str, Any]:
    """A recording with some of its ``current`` values replaced."""
    body = recording(name)
    body["current"].update(changes)
    return body


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    """A problem JSON with that status and code, that does not leak the provider's URL."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert "open-meteo.com" not in response.text
    assert "/v1/forecast" not in response.text


@pytest.mark.parametrize(
    ("recorded", "city", "expected"),
    [
        (
            "rodez_overcast.json",
            "Rodez",
            {
                "temperature": 8.4,
                "condition": "nuageux",
                "condition_code": "cloudy",
                "humidity": 87,
                "wind_kph": 11.2,
                "observed_at": "2026-11-28T14:00:00+01:00",
            },
        ),
        (
            "timbuktu_clear.json",
            "Tombouctou",
            {
                "temperature": 31.6,
                "condition": "dégagé",
                "condition_code": "clear",
                "humidity": 14,
                "wind_kph": 18.7,
                "observed_at": "2026-11-28T13:15:00+00:00",
            },
        ),
        (
            "oslo_snow.json",
            "Oslo",
            {
                "temperature": -3.2,
                "condition": "neige",
                "condition_code": "snow",
                "humidity": 93,
                "wind_kph": 9.4,
                "observed_at": "2026-11-28T14:00:00+01:00",
            },
        ),
        (
            "sao_paulo_thunderstorm.json",
            "Sao Paulo",
            {
                "temperature": 24.8,
                "condition": "orage",
                "condition_code": "thunderstorm",
                "humidity": 84,
                "wind_kph": 21.6,
                "observed_at": "2026-11-28T10:00:00-03:00",
            },
        ),
    ],
)
async def test_recorded_answers_become_weather_reports(
    open_meteo: httpx.AsyncClient,
    respx_mock: respx.MockRouter,
    recorded: str,
    city: str,
    expected: dict[str, Any],
) -> None:
    """A recorded Open-Meteo answer reads as the report a display shows, source open-meteo."""
    answer(respx_mock, status_code=200, json=recording(recorded))
    response = await open_meteo.get("/weather", params={"city": city})
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in expected} == expected
    assert body["source"] == "open-meteo"


@pytest.mark.parametrize(
    ("wmo_code", "condition_code", "french", "english"),
    [
        (0, "clear", "dégagé", "clear"),
        (1, "mainly_clear", "peu nuageux", "mainly clear"),
        (2, "partly_cloudy", "partiellement nuageux", "partly cloudy"),
        (3, "cloudy", "nuageux", "cloudy"),
        (48, "fog", "brouillard", "fog"),
        (53, "drizzle", "bruine", "drizzle"),
        (57, "freezing_rain", "pluie verglaçante", "freezing rain"),
        (63, "rain", "pluie", "rain"),
        (67, "freezing_rain", "pluie verglaçante", "freezing rain"),
        (77, "snow", "neige", "snow"),
        (81, "showers", "averses", "showers"),
        (86, "snow_showers", "averses de neige", "snow showers"),
        (99, "thunderstorm", "orage", "thunderstorm"),
    ],
)
async def test_wmo_codes_map_to_conditions(
    open_meteo: httpx.AsyncClient,
    respx_mock: respx.MockRouter,
    wmo_code: int,
    condition_code: str,
    french: str,
    english: str,
) -> None:
    """Each WMO weather code reads as its condition, in French and in English."""
    answer(
        respx_mock, status_code=200, json=with_current("rodez_overcast.json", weather_code=wmo_code)
    )
    fr = (await open_meteo.get("/weather", params={"city": "Rodez"})).json()
    en = (await open_meteo.get("/weather", params={"city": "Rodez", "lang": "en"})).json()
    assert (fr["condition_code"], fr["condition"], en["condition"]) == (
        condition_code,
        french,
        english,
    )


async def test_request_carries_the_gazetteer_coordinates(
    open_meteo: httpx.AsyncClient, respx_mock: respx.MockRouter, gazetteer: Gazetteer
) -> None:
    """Open-Meteo is asked for the city's coordinates and zone, in km/h, and nothing else."""
    route = answer(respx_mock, status_code=200, json=recording("rodez_overcast.json"))
    await open_meteo.get("/weather", params={"city": "RODEZ"})
    rodez = gazetteer.resolve("Rodez")
    sent = route.calls.last.request.url
    assert (sent.host, sent.path) == ("api.open-meteo.com", "/v1/forecast")
    assert dict(sent.params) == {
        "latitude": str(rodez.latitude),
        "longitude": str(rodez.longitude),
        "current": "temperature_2m,relative_humidity_2m,weather_code,wind_speed_10m",
        "timezone": "Europe/Paris",
        "wind_speed_unit": "kmh",
    }


async def test_upstream_500_is_a_502(
    open_meteo: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """Open-Meteo failing with 500 gives 502 PROVIDER_UNAVAILABLE."""
    answer(respx_mock, status_code=500, text="Internal Server Error")
    response = await open_meteo.get("/weather", params={"city": "Rodez"})
    assert_problem(response, 502, "PROVIDER_UNAVAILABLE")


async def test_unreachable_upstream_is_a_502(
    open_meteo: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """A refused connection gives 502 PROVIDER_UNAVAILABLE."""
    respx_mock.get(FORECAST).mock(side_effect=httpx.ConnectError("connection refused"))
    response = await open_meteo.get("/weather", params={"city": "Rodez"})
    assert_problem(response, 502, "PROVIDER_UNAVAILABLE")


async def test_html_instead_of_json_is_a_502(
    open_meteo: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """An HTML page with status 200 gives 502 PROVIDER_BAD_RESPONSE."""
    html = (RECORDINGS / "bad_gateway.html").read_text(encoding="utf-8")
    answer(respx_mock, status_code=200, html=html)
    response = await open_meteo.get("/weather", params={"city": "Rodez"})
    assert_problem(response, 502, "PROVIDER_BAD_RESPONSE")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"latitude": 44.34, "longitude": 2.56}, id="no current block"),
        pytest.param(with_current("rodez_overcast.json", weather_code=42), id="unknown code"),
        pytest.param(with_current("rodez_overcast.json", temperature_2m=None), id="null value"),
        pytest.param(with_current("rodez_overcast.json", time="yesterday"), id="bad time"),
    ],
)
async def test_json_of_the_wrong_shape_is_a_502(
    open_meteo: httpx.AsyncClient, respx_mock: respx.MockRouter, body: dict[str, Any]
) -> None:
    """JSON missing what we asked for gives 502 PROVIDER_BAD_RESPONSE."""
    answer(respx_mock, status_code=200, json=body)
    response = await open_meteo.get("/weather", params={"city": "Rodez"})
    assert_problem(response, 502, "PROVIDER_BAD_RESPONSE")


async def test_upstream_refusal_is_a_502(
    open_meteo: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """Open-Meteo's own 400 error gives 502 PROVIDER_BAD_RESPONSE, without its reason."""
    answer(respx_mock, status_code=400, json=recording("error_400.json"))
    response = await open_meteo.get("/weather", params={"city": "Rodez"})
    assert_problem(response, 502, "PROVIDER_BAD_RESPONSE")
    assert "Invalid timezone" not in response.text


async def test_upstream_timeout_is_a_504(
    open_meteo: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """An httpx timeout gives 504 PROVIDER_TIMEOUT."""
    respx_mock.get(FORECAST).mock(side_effect=httpx.ReadTimeout("timed out"))
    response = await open_meteo.get("/weather", params={"city": "Rodez"})
    assert_problem(response, 504, "PROVIDER_TIMEOUT")


async def test_slow_upstream_is_cut_at_the_deadline(
    open_meteo: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """An upstream slower than provider_timeout_seconds (0.5 s here) gives 504 in time."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=recording("rodez_overcast.json"))

    respx_mock.get(FORECAST).mock(side_effect=slow)
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await open_meteo.get("/weather", params={"city": "Rodez"})
    assert_problem(response, 504, "PROVIDER_TIMEOUT")
    assert loop.time() - started < 5
