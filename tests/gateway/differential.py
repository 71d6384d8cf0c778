"""The fast /graphql path against the reference execution, for the differential tests.

* :func:`differential_gateway` serves the gateway over the fakes, plus a test-only route
  (``REFERENCE_PATH``, added to this app instance only) that runs the same request through
  Strawberry's ``schema.execute`` with every schema extension. Both requests go through
  the same middlewares (request ID, deadline, ``RequestRecord``), the same ``Upstreams``
  (read from the lifespan state, as the endpoint reads it) and the same fakes.
* :func:`compare` lists every difference between two parsed answers.
* :func:`documents` generates documents over the schema: hypothesis-graphql picks the
  fields and arguments, then aliases, repeated fields, fragments, directives, variables
  and ``__typename`` are drawn on top of them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request, Response
from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    ValueNode,
    get_named_type,
    print_ast,
)
from hypothesis import strategies as st
from hypothesis_graphql import queries

from gateway.config import GatewaySettings
from gateway.graphql.endpoint import formatted_errors
from gateway.graphql.schema import Context, build_schema
from gateway.main import create_app
from tests.support.fake_upstreams import FakeUpstream, Fault

REFERENCE_PATH = "/__differential__/reference"
# Fields of extensions.sources that measure this one run (they differ between two runs).
RUN_MEASURES = frozenset({"latencyMs", "ageSeconds"})
# A STALE_DATA error says how old its value is, in whole seconds: two runs a moment apart
# may round it differently, so its age (extensions and message) is left out too.
STALE_AGE = re.compile(r"stored \d+ s ago")
FAULTS: tuple[Fault, ...] = (
    "dead",
    "500",
    "502",
    "503",
    "504",
    "429",
    "html",
    "truncated",
    "wrong_shape",
)


def differential_settings(**overrides: Any) -> GatewaySettings:
    """Cache off (both sides call the fakes), no retries, a breaker that never opens and
    deadlines no busy CI machine reaches, unless asked: the two runs of one document see
    the same upstream behaviour."""
    values: dict[str, Any] = {
        "upstream_timeout_seconds": 5.0,
        "request_timeout_seconds": 10.0,
        "upstream_retries": 0,
        "cache_weather_ttl_seconds": 0.0,
        "cache_joke_ttl_seconds": 0.0,
        "breaker_failure_threshold": 1_000_000,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@dataclass(frozen=True)
class Document:
    """One GraphQL request: what both paths are sent."""

    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    operation_name: str | None = None

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.query, "variables": self.variables}
        if self.operation_name is not None:
            body["operationName"] = self.operation_name
        return body


@dataclass
class Answers:
    """The fast path's answer and the reference's, for one document."""

    fast: dict[str, Any]
    reference: dict[str, Any]
    fast_status: int
    reference_status: int

    def differences(self) -> list[str]:
        """What differs; two crashes (HTTP 5xx) are no agreement but a difference too."""
        found = compare(self.fast, self.reference)
        for side, status in (("fast", self.fast_status), ("reference", self.reference_status)):
            if status >= 500:
                found.append(f"HTTP {status} from the {side} path: a crash answers nothing")
        if self.fast_status != self.reference_status:
            found.append(
                f"HTTP status: fast {self.fast_status} != reference {self.reference_status}"
            )
        return found


class DifferentialGateway:
    """Sends each document down both paths of one in-process gateway."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.compared = 0

    async def answers(self, document: Document) -> Answers:
        """The fast path first, then the reference, with one request ID for both."""
        self.compared += 1
        headers = {"x-request-id": f"differential-{self.compared}"}
        fast = await self.client.post("/graphql", json=document.payload(), headers=headers)
        reference = await self.client.post(REFERENCE_PATH, json=document.payload(), headers=headers)
        return Answers(_parsed(fast), _parsed(reference), fast.status_code, reference.status_code)

    async def differences(self, document: Document) -> list[str]:
        return (await self.answers(document)).differences()


def _parsed(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; anything else (a crash's plain-text 500) as a marker."""
    try:
        body = response.json()
    except ValueError:
        return {"not JSON": response.text}
    return body if isinstance(body, dict) else {"not an object": body}


def add_reference_route(app: FastAPI, settings: GatewaySettings) -> None:
    """``REFERENCE_PATH``: the request run by Strawberry's execution (every schema
    extension), answered as the gateway's HTTP layer shapes a GraphQL answer."""
    schema = build_schema(settings)

    async def reference(request: Request) -> Response:
        payload = await request.json()
        result = await schema.execute(
            payload["query"],
            variable_values=payload.get("variables"),
            context_value=Context(request.state.upstreams),
            operation_name=payload.get("operationName"),
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = formatted_errors(result.errors)
        if result.extensions:
            body["extensions"] = result.extensions
        return Response(orjson.dumps(body), media_type="application/json")

    app.add_api_route(REFERENCE_PATH, reference, methods=["POST"], include_in_schema=False)


@asynccontextmanager
async def differential_gateway(
    settings: GatewaySettings, weather: FakeUpstream, joke: FakeUpstream
) -> AsyncIterator[DifferentialGateway]:
    """An in-process gateway over the fakes that also answers ``REFERENCE_PATH``."""
    app = create_app(settings, transports={"weather": weather.transport, "joke": joke.transport})
    add_reference_route(app, settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url="http://gateway",
        ) as client,
    ):
        yield DifferentialGateway(client)


# ---------------------------------------------------------------- comparing


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _error_key(error: Any) -> str:
    if isinstance(error, dict) and (error.get("extensions") or {}).get("code") == "STALE_DATA":
        extensions = {k: v for k, v in error["extensions"].items() if k != "ageSeconds"}
        message = STALE_AGE.sub("stored N s ago", str(error.get("message")))
        error = {**error, "message": message, "extensions": extensions}
    return _canonical(error)


def _without_run_measures(extensions: Any) -> Any:
    if not isinstance(extensions, dict) or not isinstance(extensions.get("sources"), dict):
        return extensions
    sources = {
        service: (
            {k: v for k, v in source.items() if k not in RUN_MEASURES}
            if isinstance(source, dict)
            else source
        )
        for service, source in extensions["sources"].items()
    }
    return {**extensions, "sources": sources}


def compare(fast: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """Every difference between the fast path's answer and the reference's, as sentences
    (empty when they agree). ``data`` must match exactly, key order and number types
    included; ``errors`` as a multiset (concurrent resolvers order them freely);
    ``extensions`` apart from the per-run measures of ``sources`` (``RUN_MEASURES``) and
    the age a STALE_DATA error states."""
    found: list[str] = []
    if sorted(fast) != sorted(reference):
        found.append(f"top-level keys: fast {sorted(fast)} != reference {sorted(reference)}")
    fast_data = json.dumps(fast.get("data"), ensure_ascii=False)
    reference_data = json.dumps(reference.get("data"), ensure_ascii=False)
    if fast_data != reference_data:
        found.append(f"data: fast {fast_data} != reference {reference_data}")
    fast_errors = Counter(_error_key(e) for e in fast.get("errors") or ())
    reference_errors = Counter(_error_key(e) for e in reference.get("errors") or ())
    for error in sorted((fast_errors - reference_errors).elements()):
        found.append(f"error only in the fast path: {error}")
    for error in sorted((reference_errors - fast_errors).elements()):
        found.append(f"error only in the reference: {error}")
    fast_extensions = _canonical(_without_run_measures(fast.get("extensions")))
    reference_extensions = _canonical(_without_run_measures(reference.get("extensions")))
    if fast_extensions != reference_extensions:
        found.append(f"extensions: fast {fast_extensions} != reference {reference_extensions}")
    return found


# ---------------------------------------------------------------- generating documents

CITIES = (
    "Rodez",
    "  rodez ",
    "Tombouctou",
    "São Paulo",
    "Nowhere",
    "",
    "../admin",
    "Paris&units=x",
    "a\u0000b",
    "x" * 101,
)
COUNTRIES = ("FR", "fr", " us ", "", "FRA", "1x")


def _likely(draw: st.DrawFn, percent: int) -> bool:
    return draw(st.integers(0, 99)) < percent


class _Writer:
    """Writes one document from hypothesis-graphql's selection, drawing the rest."""

    def __init__(self, draw: st.DrawFn, schema: GraphQLSchema, nulls: bool) -> None:
        self.draw = draw
        self.schema = schema
        self.nulls = nulls
        self.definitions: list[str] = []
        self.variables: dict[str, Any] = {}
        self.fragments: list[str] = []
        self.count = 0

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def variable(
        self, prefix: str, type_: str, values: Sequence[Any], *, non_null_position: bool
    ) -> str:
        """A variable of ``type_``: required, or nullable with a default and then given a
        value or not; an explicit null only where the argument is nullable, or with
        ``nulls`` (see ``documents``)."""
        name = self.fresh(prefix)
        if _likely(self.draw, 50):
            self.definitions.append(f"${name}: {type_}!")
            self.variables[name] = self.draw(st.sampled_from(values))
            return f"${name}"
        default = self.draw(st.sampled_from(values))
        self.definitions.append(f"${name}: {type_} = {_literal(type_, default)}")
        if _likely(self.draw, 40):
            null = self.nulls or not non_null_position
            self.variables[name] = self.draw(st.sampled_from([*values, *([None] if null else [])]))
        return f"${name}"

    def condition(self) -> str:
        if _likely(self.draw, 50):
            return "true" if self.draw(st.booleans()) else "false"
        return self.variable("f", "Boolean", (True, False), non_null_position=True)

    def directives(self) -> str:
        """Nothing mostly; else @skip, @include or both (neither is repeatable)."""
        if not _likely(self.draw, 25):
            return ""
        names = self.draw(st.sampled_from([["skip"], ["include"], ["skip", "include"]]))
        return "".join(f" @{name}(if: {self.condition()})" for name in names)

    def argument(self, name: str, value: ValueNode) -> str | None:
        choice = self.draw(st.integers(0, 9))
        if name == "city":
            if choice < 2:
                return print_ast(value)
            if choice < 6:
                return json.dumps(self.draw(st.sampled_from(CITIES)))
            return self.variable("c", "String", CITIES, non_null_position=True)
        if name == "country":
            if choice < 3:
                return print_ast(value)
            if choice < 5:
                return None
            if choice < 8:
                return json.dumps(self.draw(st.sampled_from(COUNTRIES)))
            return self.variable("k", "String", COUNTRIES, non_null_position=False)
        if name == "lang" and choice >= 6:
            return self.variable("l", "Lang", ("FR", "EN"), non_null_position=True)
        return print_ast(value)

    def arguments(self, node: FieldNode) -> str:
        written = []
        for argument in node.arguments or ():
            text = self.argument(argument.name.value, argument.value)
            if text is not None:
                written.append(f"{argument.name.value}: {text}")
        return f"({', '.join(written)})" if written else ""

    def field(self, parent: GraphQLObjectType, node: FieldNode) -> list[str]:
        """The field, sometimes twice: aliased apart, or under the same key (merged)."""
        name = node.name.value
        arguments = self.arguments(node)
        named = get_named_type(parent.fields[name].type)
        children = [s for s in (node.selection_set.selections if node.selection_set else ())]

        def one() -> str:
            alias = f"{self.fresh('a')}: " if _likely(self.draw, 30) else ""
            selection = ""
            if isinstance(named, GraphQLObjectType):
                fields = [c for c in children if isinstance(c, FieldNode)]
                selection = " " + self.selection_set(named, fields)
            return f"{alias}{name}{arguments}{self.directives()}{selection}"

        written = [one()]
        if _likely(self.draw, 15):
            written.append(one())
        return written

    def typename(self) -> str:
        alias = f"{self.fresh('t')}: " if _likely(self.draw, 30) else ""
        return f"{alias}__typename{self.directives()}"

    def selection_set(self, parent: GraphQLObjectType, nodes: Sequence[FieldNode]) -> str:
        parts: list[str] = []
        for node in nodes:
            parts.extend(self.field(parent, node))
        while _likely(self.draw, 30):
            parts.insert(self.draw(st.integers(0, len(parts))), self.typename())
        while parts and _likely(self.draw, 30):  # fragments around a run of selections
            start = self.draw(st.integers(0, len(parts) - 1))
            end = self.draw(st.integers(start + 1, len(parts)))
            inner = " ".join(parts[start:end])
            kind = self.draw(st.sampled_from(["typed", "bare", "named"]))
            if kind == "typed":
                wrapped = f"... on {parent.name}{self.directives()} {{ {inner} }}"
            elif kind == "bare":
                wrapped = f"...{self.directives()} {{ {inner} }}"
            else:
                fragment = self.fresh("F")
                self.fragments.append(f"fragment {fragment} on {parent.name} {{ {inner} }}")
                wrapped = f"...{fragment}{self.directives()}"
            parts[start:end] = [wrapped]
        return "{ " + " ".join(parts) + " }"


def _literal(type_: str, value: Any) -> str:
    if type_ == "Lang":
        return str(value)
    if type_ == "Boolean":
        return "true" if value else "false"
    return json.dumps(value)


@st.composite
def _written(draw: st.DrawFn, schema: GraphQLSchema, base: Any, nulls: bool) -> Document:
    operation = next(d for d in base.definitions if isinstance(d, OperationDefinitionNode))
    writer = _Writer(draw, schema, nulls)
    query_type = schema.query_type
    assert query_type is not None
    fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    body = writer.selection_set(query_type, fields)
    name = writer.fresh("Op") if writer.definitions or _likely(draw, 30) else None
    head = ""
    if name is not None:
        definitions = f"({', '.join(writer.definitions)})" if writer.definitions else ""
        head = f"query {name}{definitions} "
    query = " ".join([head + body, *writer.fragments])
    operation_name = name if name is not None and _likely(draw, 50) else None
    return Document(query, writer.variables, operation_name)


def documents(schema: GraphQLSchema, *, nulls: bool = True) -> st.SearchStrategy[Document]:
    """Documents over ``schema``: hypothesis-graphql's queries, dressed up. ``nulls=False``
    never sends null for a variable (with a default) used where null is not allowed: an
    ``if:`` of @skip/@include, ``city``, ``lang``."""
    base = queries(schema, print_ast=lambda document: document)
    return base.flatmap(lambda document: _written(schema, document, nulls))
