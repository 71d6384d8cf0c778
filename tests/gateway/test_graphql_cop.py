"""graphql-cop's probes (v1.15, lib/tests), re-implemented: none may succeed in production.

Each probe sends graphql-cop's own payload and checks graphql-cop's own success condition.
Development mode (the local default) deliberately allows three of them, for the explorer:
introspection, field suggestions and the GraphiQL page (a circular introspection walk is
still stopped by graphql-core's introspection depth rule). GET queries stay refused there
too unless the request carries a preflight header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from gateway.config import GatewaySettings
from tests.gateway.conftest import serve
from tests.support.fake_upstreams import FakeUpstream

Probe = Callable[[httpx.AsyncClient], Awaitable[bool]]
PROBES: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    def register(function: Probe) -> Probe:
        PROBES[name] = function
        return function

    return register


async def post(client: httpx.AsyncClient, query: str) -> Any:
    response = await client.post("/graphql", json={"query": query})
    try:
        return response.json()
    except ValueError:
        return {}


def typename_answered(body: Any) -> bool:
    return isinstance(body, dict) and bool((body.get("data") or {}).get("__typename"))


@probe("alias_overloading")
async def _aliases(client: httpx.AsyncClient) -> bool:
    aliases = "".join(f"alias{i}:__typename \n" for i in range(101))
    body = await post(client, "query cop { " + aliases + " }")
    return "alias100" in str(body.get("data"))


@probe("batch_query")
async def _batch(client: httpx.AsyncClient) -> bool:
    response = await client.post("/graphql", json=[{"query": "query cop { __typename }"}] * 10)
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else None
    )
    return isinstance(body, list) and len(body) >= 10


@probe("field_suggestions")
async def _suggestions(client: httpx.AsyncClient) -> bool:
    body = await post(client, "query cop { __schema { directive } }")
    return "Did you mean" in str(body.get("errors"))


@probe("introspection")
async def _introspection(client: httpx.AsyncClient) -> bool:
    body = await post(client, "query cop { __schema { types { name fields { name } } } }")
    return bool((body.get("data") or {}).get("__schema"))


@probe("circular_query_introspection")
async def _circular(client: httpx.AsyncClient) -> bool:
    inner = "name"
    for _ in range(9):
        inner = f"fields {{ type {{ {inner} }} }}"
    body = await post(client, f"query cop {{ __schema {{ types {{ {inner} }} }} }}")
    return bool((body.get("data") or {}).get("__schema"))


@probe("detect_graphiql")
async def _graphiql(client: httpx.AsyncClient) -> bool:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    page = response.text.lower()
    return any(sign in page for sign in ("graphiql", "graphql playground", "graphql-playground"))


@probe("get_method_support")
async def _get(client: httpx.AsyncClient) -> bool:
    response = await client.get("/graphql", params={"query": "query cop {__typename}"})
    return response.status_code == 200 and typename_answered(response.json())


@probe("get_based_mutation")
async def _get_mutation(client: httpx.AsyncClient) -> bool:
    response = await client.get("/graphql", params={"query": "mutation cop {__typename}"})
    return response.status_code == 200 and typename_answered(response.json())


@probe("post_based_csrf")
async def _form_post(client: httpx.AsyncClient) -> bool:
    response = await client.post("/graphql", data={"query": "query cop {__typename}"})
    return response.status_code == 200 and typename_answered(response.json())


@probe("directive_overloading")
async def _directives(client: httpx.AsyncClient) -> bool:
    body = await post(client, "query cop { __typename " + "@aa" * 10 + " }")
    return len(body.get("errors") or []) == 10


@probe("field_duplication")
async def _duplication(client: httpx.AsyncClient) -> bool:
    body = await post(client, "query cop { " + "__typename \n" * 500 + "} ")
    return typename_answered(body)


@probe("trace_mode")
async def _trace(client: httpx.AsyncClient) -> bool:
    body = await post(client, "query cop { __typename }")
    return "tracing" in str(body.get("extensions"))


@probe("unhandled_error_detection")
async def _unhandled(client: httpx.AsyncClient) -> bool:
    body = await post(client, "qwerty cop { abc }")
    text = str(body.get("errors"))
    return "exception" in text.lower() or "traceback" in text.lower()


async def app(
    env: str, weather: FakeUpstream, joke: FakeUpstream
) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(GatewaySettings(env=env, upstream_retries=0), weather, joke) as client:
        yield client


@pytest.fixture
async def production(weather: FakeUpstream, joke: FakeUpstream) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app("production", weather, joke):
        yield client


@pytest.fixture
async def development(
    weather: FakeUpstream, joke: FakeUpstream
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app("development", weather, joke):
        yield client


@pytest.mark.parametrize("name", sorted(PROBES))
async def test_no_graphql_cop_probe_succeeds_in_production(
    production: httpx.AsyncClient, name: str
) -> None:
    """With CANADUCK_ENV=production, graphql-cop's success condition is false for every probe."""
    assert await PROBES[name](production) is False


DEV_ALLOWED = {"introspection", "field_suggestions", "detect_graphiql"}


@pytest.mark.parametrize("name", sorted(PROBES))
async def test_development_allows_only_the_explorer_probes(
    development: httpx.AsyncClient, name: str
) -> None:
    """The local default opens exactly what GraphiQL needs, and nothing else."""
    assert await PROBES[name](development) is (name in DEV_ALLOWED)


async def test_get_query_with_preflight_header_works_in_development(
    development: httpx.AsyncClient,
) -> None:
    """A script may query over GET in development if it sends X-Canaduck-Preflight."""
    response = await development.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"X-Canaduck-Preflight": "1"}
    )
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_query_without_preflight_is_a_clear_400(development: httpx.AsyncClient) -> None:
    """A GET query without the header is refused with a problem that says what to do."""
    response = await development.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 400
    assert response.json()["code"] == "CSRF_PREFLIGHT_REQUIRED"


async def test_errors_never_leak_internals(
    production: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """Resolver and upstream errors name no exception class, host, URL or traceback."""
    joke.fault = "500"
    bodies = [
        await post(production, '{ fullinfo(city: "Rodez") { joke } }'),
        await post(production, "qwerty cop { abc }"),
        await post(production, '{ fullinfo(city: "a\\u0000") { joke } }'),
    ]
    text = str(bodies)
    for leak in ("Traceback", "Error(", "http://", "127.0.0.1", "10.0.0.5", "httpx", 'File "'):
        assert leak not in text
