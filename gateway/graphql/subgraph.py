"""Canaduck as an Apollo Federation v2 subgraph: the ``City`` entity at ``/subgraph/graphql``.

A router composes this schema with a company's own subgraphs, so their ``Site`` or
``Screen`` can say ``city { weather { temperature } joke }`` and the router asks us. It is a
schema of its own, beside the public one (which stays free of ``_service``/``_entities``),
and it is private: ``_service { sdl }`` answers any caller, introspection or not, so only the
router may reach it (on by default in development; production needs ``GATEWAY_SUBGRAPH``).

A router sends all the cities of a query in one ``_entities`` request (Hive Gateway sent 499
representations for 500 sites). That request is bounded and shared:

* at most ``GATEWAY_MAX_ENTITIES`` representations per request, else one
  ``TOO_MANY_ENTITIES`` error before any upstream call;
* one upstream call per distinct (folded city, lang) and one joke call per lang, through a
  per-request memo (whatever the cache settings), all cities resolved concurrently;
* a representation that is not a ``City`` with a ``name`` string is an
  ``INVALID_REPRESENTATION`` error on that item only; the other items are unaffected.

A City is resolved without any call: its fields call their own service, as ``fullinfo``'s
do. So an unknown city has a ``null`` ``weather`` (and ``country``) with ``CITY_NOT_FOUND``
at that path, and still its joke. A ``null`` entity would not make the city ``null``
anyway: routers keep the object the referencing subgraph gave (its ``name``), null every
field they asked us for and repeat the error on each (measured with Hive Gateway).

Federation 2.9 on purpose: Strawberry's default (2.11) is refused by The Guild's composition
(``UNKNOWN_FEDERATION_LINK_VERSION``, also inside Hive Gateway 2.15); 2.9 composes everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, TypeVar

import strawberry
from fastapi import FastAPI
from strawberry import federation
from strawberry.federation.schema import FederationAny

from canaduck.inputs import InvalidCity, fold, normalize_city
from canaduck.problems import ApiError
from gateway.config import GatewaySettings
from gateway.dependencies import UpstreamsDep
from gateway.graphql.router import GatewayGraphQLRouter
from gateway.graphql.schema import Context, GatewaySchema, Lang, Weather, build_schema
from gateway.upstream.models import JokePayload, WeatherReport
from gateway.upstream.models import Lang as LangValue
from gateway.upstream.services import Answer, Upstreams

FEDERATION_VERSION: Literal["2.9"] = "2.9"
SUBGRAPH_PATH = "/subgraph/graphql"

T = TypeVar("T")


class TooManyEntities(ApiError):
    status_code = 400
    code = "TOO_MANY_ENTITIES"
    title = "Too many entities"

    def __init__(self, count: int, maximum: int) -> None:
        super().__init__(
            f"{count} entity representations in one request. "
            f"Allowed: {maximum} (GATEWAY_MAX_ENTITIES).",
            extra={"count": count, "maximum": maximum},
        )


class InvalidRepresentation(ApiError):
    status_code = 400
    code = "INVALID_REPRESENTATION"
    title = "Invalid entity representation"


class SubgraphContext(Context):
    """The public context, plus the request's entity count and its memo of upstream calls."""

    def __init__(self, upstreams: Upstreams, max_entities: int) -> None:
        super().__init__(upstreams)
        self.max_entities = max_entities
        self.entities = 0
        self._weather: dict[tuple[str, LangValue], asyncio.Task[Answer[WeatherReport]]] = {}
        self._jokes: dict[LangValue, asyncio.Task[Answer[JokePayload]]] = {}

    def count_entities(self, count: int) -> None:
        """Add a batch of representations; refuse the one that goes over the maximum."""
        self.entities += count
        if self.entities > self.max_entities:
            raise TooManyEntities(self.entities, self.max_entities)

    def weather(self, city: str, lang: LangValue) -> Awaitable[Answer[WeatherReport]]:
        """The city's report, one upstream call per (folded city, lang) in this request."""
        key = (fold(city), lang)
        return _once(self._weather, key, lambda: self.upstreams.weather_report(city, lang))

    def joke(self, lang: LangValue) -> Awaitable[Answer[JokePayload]]:
        """A joke, one upstream call per lang in this request (every city shares it)."""
        return _once(self._jokes, lang, lambda: self.upstreams.random_joke(lang))


def _once(
    memo: dict[Any, asyncio.Task[T]], key: object, call: Callable[[], Coroutine[Any, Any, T]]
) -> Awaitable[T]:
    # A task, not a coroutine: many resolvers await it; the first caller's context
    # (request ID, deadline, record) is copied into it, which is the request's own.
    task = memo.get(key)
    if task is None:
        task = memo[key] = asyncio.ensure_future(call())
    return task


SubgraphInfo = strawberry.Info[SubgraphContext, None]


@federation.type(
    keys=["name"],
    description="A city, by name: its current weather and a joke, for any subgraph naming one.",
)
class City:
    name: str = strawberry.field(description="The city's name, the entity key (normalised).")

    @strawberry.field(description="ISO 3166-1 alpha-2 country code; null when weather fails.")
    async def country(self, info: SubgraphInfo) -> str | None:
        answer = await info.context.weather(self.name, LangValue.FR)
        return info.context.value(answer, info).country

    @strawberry.field(description="Null when the weather service fails; see errors.")
    async def weather(
        self,
        info: SubgraphInfo,
        lang: Lang = LangValue.FR,  # type: ignore[valid-type]
    ) -> Weather | None:
        answer = await info.context.weather(self.name, lang)
        return Weather.from_report(info.context.value(answer, info))

    @strawberry.field(description="The joke text; null when the joke service fails.")
    async def joke(
        self,
        info: SubgraphInfo,
        lang: Lang = LangValue.FR,  # type: ignore[valid-type]
    ) -> str | None:
        answer = await info.context.joke(lang)
        return info.context.value(answer, info).joke


def _representation_name(index: int, representation: object) -> str:
    """The normalised city of a City representation, or the item's error."""
    if not isinstance(representation, dict):
        raise InvalidRepresentation(f"Representation {index} is not an object.")
    typename = representation.get("__typename")
    if typename != "City":
        raise InvalidRepresentation(
            f"Representation {index} has __typename {typename!r}; this subgraph resolves City.",
            extra={"typename": typename if isinstance(typename, str) else None},
        )
    name = representation.get("name")
    if not isinstance(name, str):
        raise InvalidRepresentation(f"Representation {index} (City) needs a string `name`.")
    try:
        return normalize_city(name)
    except InvalidCity as exc:
        raise InvalidRepresentation(f"Representation {index} (City): {exc}.") from exc


class SubgraphSchema(federation.Schema, GatewaySchema):
    def entities_resolver(
        self, info: strawberry.Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        # Strawberry's own resolver pops __typename and looks it up in the type map: a bare
        # KeyError (an INTERNAL_ERROR for the whole request) on an unknown type name. Here
        # each item is a City or an error, which graphql-core raises at the item's path.
        context: SubgraphContext = info.context
        context.count_entities(len(representations))
        results: list[object] = []
        for index, representation in enumerate(representations):
            try:
                results.append(City(name=_representation_name(index, representation)))
            except InvalidRepresentation as error:
                results.append(error)
        return results  # type: ignore[return-value]


def build_subgraph_schema(settings: GatewaySettings) -> strawberry.Schema:
    """The federation schema, with exactly the public schema's limits and switches."""
    # Taken from the public schema rather than listed again, so the two doors never drift:
    # document limits, masking, provenance, no suggestions (and no introspection) in
    # production. The subgraph has no root field of its own: Cities come by reference.
    public = build_schema(settings)
    return SubgraphSchema(
        types=[City],
        federation_version=FEDERATION_VERSION,
        config=public.config,
        extensions=public.extensions,
    )


def mount_subgraph(app: FastAPI, settings: GatewaySettings) -> None:
    """Serve the subgraph at /subgraph/graphql when the settings enable it."""
    if not settings.subgraph_enabled:
        return

    async def get_subgraph_context(upstreams: UpstreamsDep) -> SubgraphContext:
        return SubgraphContext(upstreams, settings.max_entities)

    router: GatewayGraphQLRouter[SubgraphContext, None] = GatewayGraphQLRouter(
        build_subgraph_schema(settings),
        context_getter=get_subgraph_context,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=settings.get_queries_enabled,
        include_in_schema=False,  # private: not in the public OpenAPI document
    )
    app.include_router(router, prefix=SUBGRAPH_PATH)
