"""Subscriptions: ``weather`` and ``fullinfo``, pushed when what a subscriber selected changes.

Both transports Strawberry serves at ``/graphql`` carry them: graphql-transport-ws over
WebSocket, and GraphQL over SSE ("distinct connections" mode, ``Accept:
text/event-stream``). The values come from the shared live feeds (``gateway.live``): a
subscription never calls an upstream itself.

Each event is resolved like a query, with the same types: ``fullinfo``'s ``weather`` and
``joke`` resolvers run as usual, but while an event is resolved the context's upstreams
answer from the event's snapshot (:class:`LiveUpstreams`). An upstream failure is an
error in that event, with its code; the stream stays open. ``extensions.sources`` and the
``STALE_DATA`` errors are added to each event by :class:`LiveResults`, through
Strawberry's ``on_stream_result`` hook (the query path's ``Provenance`` extension reads a
per-request record, which a long-lived stream does not have).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from gateway.errors import ApiError
from gateway.graphql.live_transport import CLOSE_SLOW_CONSUMER
from gateway.graphql.schema import FullInfo, Weather, checked_city, checked_country
from gateway.live.gate import current_connection
from gateway.live.snapshot import LiveKey, Reading, ReportedError, Snapshot
from gateway.upstream.client import Fetched
from gateway.upstream.models import JokePayload, WeatherReport
from gateway.upstream.models import Lang as LangValue
from gateway.upstream.services import Answer, Upstreams
from gateway.upstream.transport import UpstreamResponse

M = TypeVar("M", WeatherReport, JokePayload)


Tree = dict[str, "Tree"]


class LiveUnavailable(ApiError):
    status_code = 400
    code = "LIVE_TRANSPORT_REQUIRED"
    title = "Subscription transport required"


@dataclass
class LiveEvent:
    """The snapshot an event is resolved from, and what ``LiveResults`` adds to it."""

    snapshot: Snapshot
    services: tuple[str, ...]  # whose provenance goes in extensions.sources
    warnings: list[GraphQLError] = field(default_factory=list)


# Set by a subscription's source stream just before it yields an event. Task-local: the
# event is resolved, and its result post-processed, in the task that iterates the stream.
_event: ContextVar[LiveEvent | None] = ContextVar("live_event", default=None)

_PLACEHOLDER = UpstreamResponse(200, b"", "application/json")


class LiveUpstreams(Upstreams):
    """The context's upstreams, answering from the event's snapshot while one is resolved
    (and calling the real services otherwise: queries share a WebSocket's context)."""

    def __init__(self, inner: Upstreams) -> None:
        super().__init__(inner.weather, inner.joke)
        self.inner = inner

    async def weather_report(
        self, city: str, lang: LangValue, country: str | None = None
    ) -> Answer[WeatherReport]:
        event = _event.get()
        if event is None:
            return await self.inner.weather_report(city, lang, country)
        return _answer(event.snapshot.weather, WeatherReport)

    async def random_joke(self, lang: LangValue) -> Answer[JokePayload]:
        event = _event.get()
        if event is None:
            return await self.inner.random_joke(lang)
        return _answer(event.snapshot.joke, JokePayload)


def _answer(reading: Reading, model: type[M]) -> Answer[M]:
    reading.raise_error()
    # Staleness is reported by LiveResults for the whole event, not per resolver.
    return Answer(model.model_validate(reading.value), Fetched(_PLACEHOLDER, "hit"))


# ---------------------------------------------------------------- what a subscriber selected


def selection_tree(selections: list[Selection]) -> Tree:
    """Selected field names (fragments merged; aliases and ``__typename`` left out)."""
    tree: Tree = {}
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name != "__typename":
                tree.setdefault(selection.name, {}).update(selection_tree(selection.selections))
        elif isinstance(selection, FragmentSpread | InlineFragment):
            for name, sub in selection_tree(selection.selections).items():
                tree.setdefault(name, {}).update(sub)
    return tree


def response_keys(selections: list[Selection], name: str) -> Iterator[str]:
    """The keys under which field ``name`` appears in the response (its aliases)."""
    for selection in selections:
        if isinstance(selection, SelectedField) and selection.name == name:
            yield selection.alias or selection.name
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from response_keys(selection.selections, name)


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _python_name(graphql_name: str) -> str:
    return _CAMEL.sub("_", graphql_name).lower()


def view_of(reading: Reading, fields: Tree, *, text_of: str | None = None) -> tuple[Any, ...]:
    """What a subscriber sees of one reading: the selected values, or the error codes."""
    value = reading.value or {}
    if text_of is not None:
        shown: Any = value.get(text_of)
    else:
        shown = tuple(sorted((name, repr(value.get(_python_name(name)))) for name in fields))
    return (shown, *reading.signature()[1:])


# ---------------------------------------------------------------- the source streams


async def _snapshots(
    city: str, lang: LangValue, country: str | None, view: Callable[[Snapshot], tuple[Any, ...]]
) -> AsyncGenerator[Snapshot, None]:
    """The feed's snapshots for this key, each only when ``view`` of it changed."""
    connection = current_connection()
    if connection is None:
        raise LiveUnavailable(
            "Subscriptions are served over WebSocket (graphql-transport-ws) or "
            "Server-Sent Events (Accept: text/event-stream) at /graphql."
        )
    queue_size = connection.hub.settings.live_queue_size

    def drop() -> None:
        connection.abort(
            CLOSE_SLOW_CONSUMER, f"Slow consumer: more than {queue_size} updates unread"
        )

    async with connection.hub.subscribe(LiveKey.of(city, lang, country), city, drop) as inbox:
        last: tuple[Any, ...] | None = None
        while True:
            snapshot = await inbox.next()
            seen = view(snapshot)
            if seen != last:
                last = seen
                yield snapshot


def _stale_errors(reading: Reading, paths: list[list[str | int]]) -> list[GraphQLError]:
    stale = reading.stale_error()
    if stale is None:
        return []
    return [GraphQLError(stale.detail, path=path, original_error=stale) for path in paths]


def _checked(city: str, country: str | None) -> tuple[str, str | None]:
    return checked_city(city), checked_country(country)


# strawberry.field(...) is typed as returning Any (pyproject lets schema.py off for it).
@strawberry.type
class Subscription:
    @strawberry.field(  # type: ignore[untyped-decorator]
        is_subscription=True,
        description="Current weather in a city, pushed whenever a selected field changes.",
    )
    async def weather(
        self,
        info: strawberry.Info,
        city: str,
        lang: LangValue = LangValue.FR,
        country: str | None = None,
    ) -> AsyncGenerator[Weather | None, None]:
        asked, country = _checked(city, country)
        fields = selection_tree(info.selected_fields[0].selections)
        path: list[str | int] = [str(info.path.key)]
        async for snapshot in _snapshots(
            asked, lang, country, lambda s: view_of(s.weather, fields)
        ):
            warnings = _stale_errors(snapshot.weather, [path])
            _event.set(LiveEvent(snapshot, ("weather",), warnings))
            try:
                snapshot.weather.raise_error()
            except ReportedError as exc:
                yield cast(Any, exc)  # graphql-core reports a yielded error at this field
                continue
            yield Weather.from_report(WeatherReport.model_validate(snapshot.weather.value))

    @strawberry.field(  # type: ignore[untyped-decorator]
        is_subscription=True,
        description="Weather and a joke for a city, pushed whenever a selected field changes "
        "(the joke rotates every GATEWAY_LIVE_JOKE_SECONDS).",
    )
    async def fullinfo(
        self,
        info: strawberry.Info,
        city: str,
        lang: LangValue = LangValue.FR,
        country: str | None = None,
    ) -> AsyncGenerator[FullInfo | None, None]:
        asked, country = _checked(city, country)
        context = info.context
        if not isinstance(context.upstreams, LiveUpstreams):
            context.upstreams = LiveUpstreams(context.upstreams)
        selections = info.selected_fields[0].selections
        tree = selection_tree(selections)
        root: list[str | int] = [str(info.path.key)]

        def view(snapshot: Snapshot) -> tuple[Any, ...]:
            return (
                view_of(snapshot.weather, tree["weather"]) if "weather" in tree else None,
                view_of(snapshot.joke, {}, text_of="joke") if "joke" in tree else None,
            )

        services = tuple(name for name in ("weather", "joke") if name in tree)
        async for snapshot in _snapshots(asked, lang, country, view):
            warnings = []
            for part, reading in (("weather", snapshot.weather), ("joke", snapshot.joke)):
                paths = [[*root, key] for key in response_keys(selections, part)]
                warnings += _stale_errors(reading, paths)
            _event.set(LiveEvent(snapshot, services, warnings))
            yield FullInfo(city=asked, country=country, lang=lang)


class LiveResults(SchemaExtension):
    """Each streamed event gets ``extensions.sources`` and its ``STALE_DATA`` errors."""

    def on_stream_result(self, result: Any) -> Iterator[None]:
        event = _event.get()
        if event is not None and isinstance(result, ExecutionResult):
            sources = event.snapshot.sources()
            chosen = {name: sources[name] for name in event.services if name in sources}
            result.extensions = {**(result.extensions or {}), "sources": chosen}
            if event.warnings:
                result.errors = [*(result.errors or []), *event.warnings]
            _event.set(None)
        yield
