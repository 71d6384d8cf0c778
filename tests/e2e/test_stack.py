"""The whole stack as a user runs it: three real processes, queried with real clients."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

from tests.e2e.conftest import SDL, Stack

pytestmark = pytest.mark.e2e

SEED_QUERY = "{ fullinfo(city: %s) { city weather { temperature condition } joke } }"


async def execute(stack: Stack, query: str) -> tuple[Any, list[dict[str, Any]] | None]:
    """Run ``query`` with gql, validated against the checked-in SDL; return data, errors."""
    transport = HTTPXAsyncTransport(url=f"{stack.gateway.url}/graphql", timeout=10)
    async with Client(transport=transport, schema=SDL) as session:
        try:
            result = await session.execute(gql(query))
        except TransportQueryError as partial:  # gql raises when errors[] is not empty
            return partial.data, partial.errors
    return result, None


async def test_tombouctou_resolves_to_timbuktu_with_a_joke(stack: Stack) -> None:
    """The acceptance query returns Timbuktu's weather and a joke, without errors."""
    data, errors = await execute(stack, SEED_QUERY % '"Tombouctou"')
    assert errors is None
    info = data["fullinfo"]
    assert info["city"] == "Tombouctou"
    assert isinstance(info["weather"]["temperature"], float)
    assert info["weather"]["condition"]
    assert info["joke"]
    data, _ = await execute(stack, '{ fullinfo(city: "Tombouctou") { weather { city country } } }')
    assert data["fullinfo"]["weather"] == {"city": "Timbuktu", "country": "ML"}


def test_rest_fullinfo_has_the_seed_shape(stack: Stack) -> None:
    """curl /fullinfo?city=Rodez answers city, weather{temperature, condition}, joke."""
    body = httpx.get(f"{stack.gateway.url}/fullinfo", params={"city": "Rodez"}).json()
    assert body["city"] == "Rodez"
    assert isinstance(body["weather"]["temperature"], float)
    assert isinstance(body["weather"]["condition"], str)
    assert isinstance(body["joke"], str)
    assert "errors" not in body


async def test_graphql_and_rest_agree(stack: Stack) -> None:
    """The GraphQL query and the REST route give the same weather for the same hour."""
    data, _ = await execute(stack, SEED_QUERY % '"Rodez"')
    async with httpx.AsyncClient(base_url=stack.gateway.url) as client:
        rest = (await client.get("/fullinfo", params={"city": "Rodez"})).json()
    assert data["fullinfo"]["weather"] == {
        k: rest["weather"][k] for k in ("temperature", "condition")
    }


def test_weather_passthrough_is_byte_identical(stack: Stack) -> None:
    """Gateway /weather?city=Rodez returns exactly the weather service's bytes and headers."""
    params = {"city": "Rodez"}
    direct = httpx.get(f"{stack.weather.url}/weather", params=params)
    relayed = httpx.get(f"{stack.gateway.url}/weather", params=params)
    assert (relayed.status_code, relayed.content) == (direct.status_code, direct.content)
    assert relayed.headers["content-type"] == direct.headers["content-type"]


def test_joke_passthrough_is_byte_identical(stack: Stack) -> None:
    """Gateway /joke returns the joke service's bytes for that joke, unchanged."""
    relayed = httpx.get(f"{stack.gateway.url}/joke")
    direct = httpx.get(f"{stack.jokes.url}/jokes/{relayed.json()['id']}")
    assert relayed.content == direct.content
    assert relayed.headers["content-type"] == direct.headers["content-type"]


def test_graphiql_loads_in_a_browser(stack: Stack) -> None:
    """A browser asking for /graphql gets the GraphiQL page."""
    page = httpx.get(f"{stack.gateway.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_weather_stopped_joke_query_still_answers(own_stack: Stack) -> None:
    """With the weather service stopped, a joke-only fullinfo has no errors."""
    own_stack.weather.stop()
    data, errors = await execute(own_stack, '{ fullinfo(city: "Rodez") { joke } }')
    assert errors is None
    assert data["fullinfo"]["joke"]


async def test_joke_stopped_fullinfo_keeps_the_weather(own_stack: Stack) -> None:
    """With the joke service stopped: weather present, joke null, error at fullinfo.joke."""
    own_stack.jokes.stop()
    data, errors = await execute(own_stack, SEED_QUERY % '"Rodez"')
    assert data["fullinfo"]["joke"] is None
    assert isinstance(data["fullinfo"]["weather"]["temperature"], float)
    assert errors is not None
    [error] = errors
    assert error["path"] == ["fullinfo", "joke"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    async with httpx.AsyncClient(base_url=own_stack.gateway.url) as client:
        rest = await client.get("/fullinfo", params={"city": "Rodez"})
    assert rest.status_code == 200
    assert rest.json()["joke"] is None
