"""The REST front door, in-process: passthroughs, the merged /fullinfo, error statuses."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.fake_upstreams import DUCK_JOKE, FakeUpstream, weather_body


async def test_fullinfo_returns_the_seed_shape(gateway: httpx.AsyncClient) -> None:
    """/fullinfo?city=Rodez merges city, the weather object and the joke text."""
    response = await gateway.get("/fullinfo", params={"city": "Rodez"})
    assert response.status_code == 200
    body = response.json()
    assert body["city"] == "Rodez"
    assert body["joke"] == DUCK_JOKE
    assert (body["weather"]["temperature"], body["weather"]["condition"]) == (21.2, "nuageux")
    assert "errors" not in body


async def test_fullinfo_with_one_service_down_is_partial(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """One dead service: 200, that part null, an errors entry naming it, marked incomplete."""
    joke.fault = "dead"
    response = await gateway.get(
        "/fullinfo", params={"city": "Rodez"}, headers={"X-Request-ID": "screen-42"}
    )
    assert response.status_code == 200
    assert response.headers["X-Canaduck-Completed"] == "false"
    body = response.json()
    assert body["joke"] is None
    assert body["weather"]["temperature"] == 21.2
    assert body["errors"] == [
        {
            "path": ["joke"],
            "code": "UPSTREAM_UNAVAILABLE",
            "service": "joke",
            "retryable": True,
            "requestId": "screen-42",
            "detail": "The joke service is unavailable.",
        }
    ]


async def test_complete_fullinfo_says_so(gateway: httpx.AsyncClient) -> None:
    """A whole answer carries X-Canaduck-Completed: true."""
    response = await gateway.get("/fullinfo", params={"city": "Rodez"})
    assert response.headers["X-Canaduck-Completed"] == "true"


@pytest.mark.parametrize(
    ("weather_fault", "joke_fault", "status"),
    [
        ("dead", "dead", 503),
        ("500", "html", 502),
        ("dead", "500", 502),
    ],
)
async def test_fullinfo_with_both_services_failed_is_an_error_status(
    gateway: httpx.AsyncClient,
    weather: FakeUpstream,
    joke: FakeUpstream,
    weather_fault: str,
    joke_fault: str,
    status: int,
) -> None:
    """Nothing useful left: a 5xx problem JSON listing both failures by cause."""
    weather.fault, joke.fault = weather_fault, joke_fault  # type: ignore[assignment]
    response = await gateway.get("/fullinfo", params={"city": "Rodez"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in response.json()["errors"]] == [["weather"], ["joke"]]
    assert response.json()["requestId"] == response.headers["X-Request-ID"]


async def test_fullinfo_with_both_services_timing_out_is_504(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """Both upstreams slower than the deadline: 504, within about the deadline."""
    weather.delay_seconds = joke.delay_seconds = 2.0
    response = await gateway.get("/fullinfo", params={"city": "Rodez"})
    assert response.status_code == 504
    assert response.json()["code"] == "UPSTREAMS_FAILED"


async def test_fullinfo_unknown_city_is_404(gateway: httpx.AsyncClient) -> None:
    """An unknown city is the client's problem: 404 CITY_NOT_FOUND."""
    response = await gateway.get("/fullinfo", params={"city": "Nowhere"})
    assert response.status_code == 404
    assert response.json()["code"] == "CITY_NOT_FOUND"


@pytest.mark.parametrize("path", ["/fullinfo", "/weather"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"city": ""},
        {"city": "x" * 101},
        {"city": "Paris&units=x"},
        {"city": "a\r\nb"},
        {"city": "Rodez", "lang": "de"},
    ],
)
async def test_invalid_input_is_422_problem_with_no_upstream_call(
    gateway: httpx.AsyncClient,
    weather: FakeUpstream,
    joke: FakeUpstream,
    path: str,
    params: dict[str, str],
) -> None:
    """Missing, empty, over-long or odd input: 422 problem JSON, upstreams untouched."""
    response = await gateway.get(path, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "INVALID_INPUT"
    assert weather.calls == joke.calls == []


async def test_weather_passthrough_is_byte_identical(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """/weather relays the upstream's bytes, status and content type untouched."""
    # The whole contract, in a layout json.dumps would never produce.
    odd = json.dumps(weather_body("Rodez"), indent=3).replace(": 21.2,", ":21.20 ,").encode()
    weather.canned = (200, odd, "application/json; charset=utf-8")
    response = await gateway.get("/weather", params={"city": "Rodez"})
    assert (response.status_code, response.content) == (200, odd)
    assert response.headers["content-type"] == "application/json; charset=utf-8"


async def test_weather_passthrough_relays_upstream_404(gateway: httpx.AsyncClient) -> None:
    """The weather service's own 404 problem reaches the client as it was."""
    response = await gateway.get("/weather", params={"city": "Nowhere"})
    assert response.status_code == 404
    assert response.json()["code"] == "CITY_NOT_FOUND"


async def test_passthrough_forwards_only_the_parameters_given(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """Each parameter arrives once, decoded exactly as the client meant it."""
    await gateway.get(
        "/weather", params={"city": "São Paulo", "lang": "en", "country": "br", "units": "imperial"}
    )
    assert weather.calls == [{"city": "São Paulo", "lang": "en", "country": "BR"}]


async def test_joke_passthrough_is_byte_identical(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """/joke relays the upstream body byte for byte."""
    response = await gateway.get("/joke")
    assert response.content == b'{"id":7,"joke":"' + DUCK_JOKE.encode() + b'","lang":"fr"}'


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("dead", 503, "UPSTREAM_UNAVAILABLE"),
        ("500", 502, "UPSTREAM_BAD_RESPONSE"),
        ("503", 503, "UPSTREAM_UNAVAILABLE"),
    ],
)
async def test_passthrough_upstream_failure_is_a_problem_without_internals(
    gateway: httpx.AsyncClient, joke: FakeUpstream, fault: str, status: int, code: str
) -> None:
    """A failing service becomes a clean problem JSON; its own error text never leaks."""
    joke.fault = fault  # type: ignore[assignment]
    response = await gateway.get("/joke")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert "10.0.0.5" not in response.text
    assert "http://" not in response.text


async def test_passthrough_timeout_is_504(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """A weather service slower than the deadline gives 504 UPSTREAM_TIMEOUT."""
    weather.delay_seconds = 2.0
    response = await gateway.get("/weather", params={"city": "Rodez"})
    assert (response.status_code, response.json()["code"]) == (504, "UPSTREAM_TIMEOUT")


async def test_fullinfo_weather_is_the_service_object(gateway: httpx.AsyncClient) -> None:
    """/fullinfo carries every weather field the service reports, in the service's units."""
    body = (await gateway.get("/fullinfo", params={"city": "Rodez"})).json()
    expected = weather_body("Rodez")
    expected.pop("lang")
    assert body["weather"] == expected


async def test_unknown_route_is_a_problem_404(gateway: httpx.AsyncClient) -> None:
    """Unknown paths answer problem JSON, not HTML."""
    response = await gateway.get("/nope")
    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
