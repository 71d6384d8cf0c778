"""Garbage that looks healthy is a failure: the breaker counts it, passthrough refuses it."""

from __future__ import annotations

from gateway.config import GatewaySettings
from tests.gateway.conftest import serve
from tests.support.fake_upstreams import FakeUpstream

THRESHOLD = 3


async def test_garbage_200s_open_the_breaker_and_calls_stop(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """A joke service answering 200s of the wrong shape is called THRESHOLD times, no more."""
    joke.fault = "wrong_shape"
    settings = GatewaySettings(upstream_retries=0, breaker_failure_threshold=THRESHOLD)
    async with serve(settings, weather, joke) as gateway:
        codes = [(await gateway.get("/joke")).json()["code"] for _ in range(THRESHOLD + 5)]
    assert len(joke.calls) == THRESHOLD
    assert codes[:THRESHOLD] == ["UPSTREAM_BAD_RESPONSE"] * THRESHOLD
    assert set(codes[THRESHOLD:]) == {"UPSTREAM_CIRCUIT_OPEN"}


async def test_html_200s_open_the_breaker_for_graphql_too(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """HTML sent with a 200 counts as a failure on the GraphQL path as well."""
    weather.fault = "html"
    settings = GatewaySettings(
        upstream_retries=0, breaker_failure_threshold=THRESHOLD, cache_weather_ttl_seconds=0
    )
    query = {"query": '{ fullinfo(city: "Rodez") { weather { temperature } joke } }'}
    async with serve(settings, weather, joke) as gateway:
        bodies = [(await gateway.post("/graphql", json=query)).json() for _ in range(THRESHOLD + 3)]
    assert len(weather.calls) == THRESHOLD
    assert bodies[-1]["errors"][0]["extensions"]["code"] == "UPSTREAM_CIRCUIT_OPEN"
    assert all(body["data"]["fullinfo"]["joke"] for body in bodies)


async def test_non_json_404_on_passthrough_becomes_a_problem(
    weather: FakeUpstream, joke: FakeUpstream, settings: GatewaySettings
) -> None:
    """An HTML 404 from the joke service is not relayed: a 502 problem names the status."""
    joke.canned = (404, b"<html><body>404 Not Found</body></html>", "text/html")
    async with serve(settings, weather, joke) as gateway:
        response = await gateway.get("/joke")
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["upstreamStatus"]) == ("UPSTREAM_BAD_RESPONSE", 404)
    assert "<html>" not in response.text


async def test_json_404_on_passthrough_is_still_relayed(
    weather: FakeUpstream, joke: FakeUpstream, settings: GatewaySettings
) -> None:
    """The weather service's own problem JSON for an unknown city reaches the client as sent."""
    async with serve(settings, weather, joke) as gateway:
        response = await gateway.get("/weather", params={"city": "Nowhere"})
    assert response.status_code == 404
    assert response.json()["code"] == "CITY_NOT_FOUND"
