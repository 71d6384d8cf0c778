"""Any text as a city, through both doors of the in-process gateway: never a 500.

For every input, the built upstream request goes to the configured host and path with
exactly one ``city`` parameter equal to the normalised input, or the gateway refuses the
input at its edge and makes no upstream call at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canaduck.inputs import InvalidCity, normalize_city
from gateway.config import GatewaySettings
from gateway.main import create_app
from tests.support.fake_upstreams import FakeUpstream

HOSTILE = [
    "&units=x",
    "../",
    "%2e%2e%2f",
    "#",
    "?",
    "\r\n",
    "\x00",
    "http://169.254.169.254/",
    "@evil.example",
    "\u202e",
    "\u200b",
    "/",
    "\\",
    "%",
    ":",
    "'",
    "-",
    " ",
]
CITIES = st.one_of(
    st.text(max_size=120),
    st.builds(
        "".join,
        st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), max_size=8),
    ),
    st.integers(min_value=95, max_value=410).map(lambda n: "a" * n),
)
WEATHER_QUERY = "query ($city: String!) { weather(city: $city) { city } }"


class Recording(httpx.AsyncBaseTransport):
    """Keeps every request the gateway builds, then lets the fake answer it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def recording() -> Recording:
    return Recording(FakeUpstream("weather").transport)


@pytest.fixture
async def gateway(
    recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("GATEWAY_CACHE_WEATHER_TTL_SECONDS", "0")  # every call reaches the fake
    gateway_settings = GatewaySettings(
        upstream_timeout_seconds=0.5, request_timeout_seconds=1.0, upstream_retries=0
    )
    joke = FakeUpstream("joke")
    app = create_app(gateway_settings, transports={"weather": recording, "joke": joke.transport})
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as client,
    ):
        yield client


def expected_city(text: str) -> str | None:
    try:
        return normalize_city(text)
    except InvalidCity:
        return None


def assert_one_city_or_none(recording: Recording, expected: str | None) -> None:
    if expected is None:
        assert recording.requests == []
        return
    [request] = recording.requests
    assert (request.url.scheme, request.url.host, request.url.port) == ("http", "127.0.0.1", 8001)
    assert request.url.path == "/weather"
    assert request.url.params.get_list("city") == [expected]
    assert set(request.url.params.keys()) <= {"city", "lang", "country"}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(city=CITIES)
async def test_any_city_over_rest_is_one_parameter_or_a_4xx(
    gateway: httpx.AsyncClient, recording: Recording, city: str
) -> None:
    """GET /weather with any text: 200 with one encoded city upstream, or 4xx and no call."""
    recording.requests.clear()
    response = await gateway.get("/weather", params={"city": city})
    expected = expected_city(city)
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if expected is None:
        assert 400 <= response.status_code < 500
    assert_one_city_or_none(recording, expected)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(city=CITIES)
async def test_any_city_over_graphql_is_one_parameter_or_invalid_input(
    gateway: httpx.AsyncClient, recording: Recording, city: str
) -> None:
    """The weather query with any text: one encoded city upstream, or INVALID_INPUT and no call."""
    recording.requests.clear()
    response = await gateway.post(
        "/graphql", json={"query": WEATHER_QUERY, "variables": {"city": city}}
    )
    expected = expected_city(city)
    assert response.status_code == 200, response.text
    assert "Traceback" not in response.text
    codes = {error["extensions"]["code"] for error in response.json().get("errors", [])}
    if expected is None:
        assert codes == {"INVALID_INPUT"}
    else:
        assert codes <= {"CITY_NOT_FOUND"}  # the fake knows every city but "Nowhere"
    assert_one_city_or_none(recording, expected)
