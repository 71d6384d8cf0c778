"""The federation subgraph at /subgraph/graphql, in process: entities, bounds, switches."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.config import ENTITY_MAX_BYTES, GatewaySettings
from tests.gateway.conftest import serve
from tests.support.fake_upstreams import DUCK_JOKE, FakeUpstream

SUBGRAPH = "/subgraph/graphql"
ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on City { name country weather { temperature condition } joke }
  }
}
"""


def city(name: str) -> dict[str, str]:
    return {"__typename": "City", "name": name}


async def entities(client: httpx.AsyncClient, representations: list[Any]) -> dict[str, Any]:
    response = await client.post(
        SUBGRAPH, json={"query": ENTITIES, "variables": {"representations": representations}}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def errors_by_index(body: dict[str, Any]) -> dict[int, str]:
    """``{index in _entities: extensions.code}`` for the errors of single items."""
    return {
        error["path"][1]: error["extensions"]["code"]
        for error in body.get("errors", [])
        if len(error.get("path", [])) == 2
    }


async def test_duplicate_cities_cost_one_weather_call_each(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """Rodez three times (any case) and Honolulu once: two weather calls and one joke call."""
    names = ["Rodez", "rodez", "Honolulu", "RODEZ"]
    body = await entities(gateway, [city(n) for n in names])
    assert "errors" not in body
    assert [e["name"] for e in body["data"]["_entities"]] == names
    assert all(e["weather"]["condition"] == "nuageux" for e in body["data"]["_entities"])
    assert all(e["joke"] == DUCK_JOKE for e in body["data"]["_entities"])
    assert all(e["country"] == "FR" for e in body["data"]["_entities"])
    assert sorted(c["city"].casefold() for c in weather.calls) == ["honolulu", "rodez"]
    assert len(joke.calls) == 1


async def test_entities_carry_the_provenance_of_their_answers(gateway: httpx.AsyncClient) -> None:
    """extensions.sources says where weather and joke came from, as on /graphql."""
    body = await entities(gateway, [city("Rodez")])
    assert set(body["extensions"]["sources"]) == {"weather", "joke"}


async def test_unknown_city_has_null_weather_and_keeps_its_joke(
    gateway: httpx.AsyncClient,
) -> None:
    """Nowhere: weather and country null with CITY_NOT_FOUND at their paths, joke intact."""
    body = await entities(gateway, [city("Rodez"), city("Nowhere")])
    rodez, nowhere = body["data"]["_entities"]
    assert rodez["weather"]["temperature"] == 21.2
    assert nowhere == {"name": "Nowhere", "country": None, "weather": None, "joke": DUCK_JOKE}
    codes = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert codes == {
        ("_entities", 1, "weather"): "CITY_NOT_FOUND",
        ("_entities", 1, "country"): "CITY_NOT_FOUND",
    }


async def test_a_failing_weather_service_nulls_weather_and_keeps_the_joke(
    gateway: httpx.AsyncClient, weather: FakeUpstream
) -> None:
    """With the weather service down the City stands: weather is null, the joke is there."""
    weather.fault = "503"
    body = await entities(gateway, [city("Rodez")])
    [rodez] = body["data"]["_entities"]
    assert rodez["weather"] is None
    assert rodez["joke"] == DUCK_JOKE
    codes = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert codes[("_entities", 0, "weather")] == "UPSTREAM_UNAVAILABLE"


@pytest.mark.parametrize(
    "representation",
    [
        {"__typename": "Town", "name": "Rodez"},
        {"name": "Rodez"},
        {"__typename": "City"},
        {"__typename": "City", "name": 42},
        {"__typename": "City", "name": "Rodez/../admin"},
        "Rodez",
        [],
    ],
    ids=["unknown type", "no typename", "no name", "name not text", "bad city", "string", "list"],
)
async def test_malformed_representation_is_an_error_on_that_item(
    gateway: httpx.AsyncClient, representation: object
) -> None:
    """A bad representation nulls its own item with INVALID_REPRESENTATION, nothing else."""
    body = await entities(gateway, [city("Rodez"), representation])
    rodez, bad = body["data"]["_entities"]
    assert rodez["name"] == "Rodez"
    assert bad is None
    assert errors_by_index(body) == {1: "INVALID_REPRESENTATION"}


async def test_too_many_representations_are_refused_before_any_upstream_call(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """Above GATEWAY_MAX_ENTITIES: one TOO_MANY_ENTITIES error, no weather or joke call."""
    async with serve(GatewaySettings(max_entities=3), weather, joke) as client:
        body = await entities(client, [city(f"City {n}") for n in "abcd"])
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_ENTITIES"
    assert "Allowed: 3" in error["message"]
    assert weather.calls == []
    assert joke.calls == []


async def test_aliases_share_one_entity_budget(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """Two _entities aliases of two cities each go over a maximum of three together."""
    query = """query($r: [_Any!]!) {
      a: _entities(representations: $r) { ... on City { joke } }
      b: _entities(representations: $r) { ... on City { joke } }
    }"""
    variables = {"r": [city("Rodez"), city("Paris")]}
    async with serve(GatewaySettings(max_entities=3), weather, joke) as client:
        response = await client.post(SUBGRAPH, json={"query": query, "variables": variables})
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TOO_MANY_ENTITIES"]


async def test_the_largest_allowed_batch_fits_the_body_limit(
    gateway: httpx.AsyncClient, settings: GatewaySettings
) -> None:
    """100 representations of the longest, widest city names are answered, not refused (413)."""
    widest = "\U00020000" * 100  # a CJK letter: 4 bytes in UTF-8, kept by NFKC
    representations = [city(widest)] * settings.max_entities
    content = json.dumps(
        {"query": ENTITIES, "variables": {"representations": representations}},
        ensure_ascii=False,  # what a Node router sends (JSON.stringify)
    ).encode()
    assert len(content) > settings.max_entities * (ENTITY_MAX_BYTES - 16)  # really the widest
    response = await gateway.post(
        SUBGRAPH, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert len(response.json()["data"]["_entities"]) == settings.max_entities


def test_a_batch_that_cannot_fit_the_body_limit_is_refused_at_startup() -> None:
    """GATEWAY_MAX_ENTITIES beyond what the body cap can carry stops the gateway from starting."""
    with pytest.raises(ValueError, match="GATEWAY_MAX_REQUEST_BODY_BYTES"):
        GatewaySettings(max_entities=1000)


async def test_service_sdl_is_the_committed_contract(gateway: httpx.AsyncClient) -> None:
    """_service { sdl } answers what schema/subgraph.graphql holds, Federation 2.9 link first."""
    from tools.contracts import SCHEMA_DIR

    response = await gateway.post(SUBGRAPH, json={"query": "{ _service { sdl } }"})
    sdl = response.json()["data"]["_service"]["sdl"]
    assert sdl + "\n" == (SCHEMA_DIR / "subgraph.graphql").read_text()
    assert sdl.startswith('schema @link(url: "https://specs.apollo.dev/federation/v2.9"')


async def test_public_schema_has_no_federation_fields(gateway: httpx.AsyncClient) -> None:
    """/graphql knows nothing of _entities: the public schema is unchanged."""
    response = await gateway.post("/graphql", json={"query": "{ _service { sdl } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_subgraph_is_off_in_production(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """CANADUCK_ENV=production without GATEWAY_SUBGRAPH: /subgraph/graphql is a 404."""
    async with serve(GatewaySettings(env="production"), weather, joke) as client:
        response = await client.post(SUBGRAPH, json={"query": "{ _service { sdl } }"})
    assert response.status_code == 404


async def test_subgraph_in_production_keeps_the_production_switches(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """Enabled in production: entities answer, but no GraphiQL, no suggestions, no GET."""
    settings = GatewaySettings(env="production", subgraph=True)
    async with serve(settings, weather, joke) as client:
        body = await entities(client, [city("Rodez")])
        ide = await client.get(SUBGRAPH, headers={"accept": "text/html"})
        typo = await client.post(SUBGRAPH, json={"query": "{ _entitie }"})
        schema = await client.post(SUBGRAPH, json={"query": "{ __schema { types { name } } }"})
    assert body["data"]["_entities"][0]["weather"]["temperature"] == 21.2
    assert ide.status_code == 404
    assert "Did you mean" not in typo.json()["errors"][0]["message"]
    assert "introspection" in schema.json()["errors"][0]["message"].lower()


async def test_subgraph_keeps_the_document_limits(gateway: httpx.AsyncClient) -> None:
    """A document with 200 field selections gets QUERY_TOO_COMPLEX, as on /graphql."""
    query = "{ " + "__typename " * 200 + "}"
    response = await gateway.post(SUBGRAPH, json={"query": query})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
