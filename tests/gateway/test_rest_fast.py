"""The REST hot path answers exactly what FastAPI's routes answer, and only when it may."""

from __future__ import annotations

import httpx
import pytest

from gateway.rest.fast import ROUTES, checked
from tests.support.fake_upstreams import FakeUpstream

FULLINFO = ROUTES["/fullinfo"]


def test_valid_parameters_are_normalised_like_the_routes_do() -> None:
    """City spacing is folded and the country upper-cased, as FastAPI's validators do."""
    params = checked([("city", "  Rodez "), ("country", "fr")], FULLINFO[1], FULLINFO[2])
    assert params == {"city": "Rodez", "country": "FR"}


@pytest.mark.parametrize(
    "raw",
    [
        [],  # city missing
        [("city", "Rodez"), ("city", "Paris")],  # repeated
        [("city", "")],
        [("city", "a\x00b")],
        [("city", "Rodez"), ("lang", "de")],
        [("city", "Rodez"), ("country", "FRA")],
    ],
)
def test_anything_doubtful_goes_on_to_fastapi(raw: list[tuple[str, str]]) -> None:
    """Missing, repeated or invalid parameters are left for FastAPI to explain."""
    assert checked(raw, FULLINFO[1], FULLINFO[2]) is None


async def test_unknown_parameters_are_ignored_as_fastapi_ignores_them(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """An extra parameter changes nothing: the answer is the normal one."""
    response = await gateway.get("/fullinfo", params={"city": "Rodez", "utm": "x"})
    assert response.status_code == 200
    assert response.json()["weather"]["city"] == "Rodez"
    assert weather.calls[-1]["city"] == "Rodez"


async def test_fallback_keeps_fastapis_422(gateway: httpx.AsyncClient) -> None:
    """A request the hot path leaves alone still gets FastAPI's problem JSON 422."""
    missing = await gateway.get("/fullinfo", params={"lang": "fr"})
    assert missing.status_code == 422
    assert missing.json()["code"] == "INVALID_INPUT"


async def test_upstream_errors_are_the_same_problem_json(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """A failing upstream on the hot path answers the route's problem JSON with its code."""
    weather.fault = "503"
    response = await gateway.get("/weather", params={"city": "Rodez"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "UPSTREAM_UNAVAILABLE"
    assert response.json()["requestId"] == response.headers["x-request-id"]
