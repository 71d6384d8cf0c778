"""The GraphQL front door: one schema whose fields each call only their own upstream.

``fullinfo`` itself calls nothing: its ``weather`` and ``joke`` fields are separate async
resolvers, so a client selecting only ``joke`` never touches the weather service, and when
both are selected graphql-core awaits them concurrently (latency ≈ the slower one).
Upstream-fed fields are nullable: a failure nulls that field alone and adds an error with
its ``path`` and ``extensions.code``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from pydantic import BaseModel
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.fastapi import BaseContext
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from canaduck.inputs import InvalidCity, normalize_city, normalize_country
from gateway.config import GatewaySettings
from gateway.dependencies import UpstreamsDep
from gateway.errors import ApiError, InvalidInput
from gateway.graphql.extensions import OperationRecorder, Provenance
from gateway.graphql.limits import DocumentLimits, Limits, MaskUnexpectedErrors, is_unexpected
from gateway.upstream.models import JokePayload, WeatherReport
from gateway.upstream.models import Lang as LangValue
from gateway.upstream.services import Answer, Upstreams

logger = logging.getLogger("gateway.graphql")

M = TypeVar("M", bound=BaseModel)

Lang = strawberry.enum(LangValue, name="Lang", description="Language of labels and jokes.")


class Context(BaseContext):
    def __init__(self, upstreams: Upstreams) -> None:
        super().__init__()
        self.upstreams = upstreams
        # Errors that go beside a value, not instead of it (a stale answer's STALE_DATA);
        # the Provenance extension adds them to the response.
        self.warnings: list[tuple[list[str | int], ApiError]] = []

    def value(self, answer: Answer[M], info: strawberry.Info[Any, Any]) -> M:
        """The answer's value, noting a STALE_DATA warning at this field when it is stale."""
        stale = answer.stale_error
        if stale is not None:
            self.warnings.append((info.path.as_list(), stale))
        return answer.value


Info = strawberry.Info[Context, None]


@strawberry.type(description="Current weather in a city, as the weather service reports it.")
class Weather:
    city: str = strawberry.field(description="Resolved city name, e.g. Timbuktu for Tombouctou.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    latitude: float
    longitude: float
    timezone: str = strawberry.field(description="IANA time zone of the city.")
    temperature: float = strawberry.field(description="Air temperature in °C.")
    condition: str = strawberry.field(description="Condition label in the requested language.")
    condition_code: str = strawberry.field(description="Stable machine value of the condition.")
    humidity: int = strawberry.field(description="Relative humidity in %.")
    wind_kph: float = strawberry.field(description="Wind speed in km/h.")
    observed_at: datetime = strawberry.field(description="Observation time, local offset.")
    source: str = strawberry.field(description='Data source, e.g. "simulated" or "open-meteo".')

    @classmethod
    def from_report(cls, report: WeatherReport) -> Weather:
        return cls(**report.model_dump())


@strawberry.type(description="A joke from the joke service.")
class Joke:
    id: int
    text: str
    lang: Lang  # type: ignore[valid-type]

    @classmethod
    def from_payload(cls, payload: JokePayload) -> Joke:
        return cls(id=payload.id, text=payload.joke, lang=payload.lang)


@strawberry.type(description="The weather of a city and a joke, in one answer.")
class FullInfo:
    city: str = strawberry.field(description="The city as asked (normalised).")
    country: strawberry.Private[str | None]
    lang: strawberry.Private[LangValue]

    @strawberry.field(description="Null when the weather service fails; see errors.")
    async def weather(self, info: Info) -> Weather | None:
        answer = await info.context.upstreams.weather_report(self.city, self.lang, self.country)
        return Weather.from_report(info.context.value(answer, info))

    @strawberry.field(description="The joke text; null when the joke service fails.")
    async def joke(self, info: Info) -> str | None:
        answer = await info.context.upstreams.random_joke(self.lang)
        return info.context.value(answer, info).joke


def checked_city(city: str) -> str:
    """The ``city`` argument, normalised, or INVALID_INPUT."""
    try:
        return normalize_city(city)
    except InvalidCity as exc:
        raise InvalidInput(str(exc), extra={"argument": "city"}) from exc


def checked_country(country: str | None) -> str | None:
    """The ``country`` argument, normalised, or INVALID_INPUT."""
    try:
        return None if country is None else normalize_country(country)
    except ValueError as exc:
        raise InvalidInput(str(exc), extra={"argument": "country"}) from exc


@strawberry.type
class Query:
    @strawberry.field(description="Weather and a joke for a city; fields call only their service.")
    def fullinfo(
        self,
        city: str,
        lang: Lang = LangValue.FR,  # type: ignore[valid-type]
        country: str | None = None,
    ) -> FullInfo | None:
        return FullInfo(city=checked_city(city), country=checked_country(country), lang=lang)

    @strawberry.field(description="Current weather in a city.")
    async def weather(
        self,
        info: Info,
        city: str,
        lang: Lang = LangValue.FR,  # type: ignore[valid-type]
        country: str | None = None,
    ) -> Weather | None:
        answer = await info.context.upstreams.weather_report(
            checked_city(city), lang, checked_country(country)
        )
        return Weather.from_report(info.context.value(answer, info))

    @strawberry.field(description="A random joke.")
    async def joke(self, info: Info, lang: Lang = LangValue.FR) -> Joke | None:  # type: ignore[valid-type]
        answer = await info.context.upstreams.random_joke(lang)
        return Joke.from_payload(info.context.value(answer, info))


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with a traceback. Only a resolver crash deserves one:
        # upstream failures and bad documents are expected outcomes with a code, so they get
        # one line each (and documents are bounded, so the number of lines is too).
        crashes = []
        for error in errors:
            if is_unexpected(error):
                crashes.append(error)
            else:
                code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
                logger.info(
                    "graphql.error code=%s path=%s message=%s",
                    code,
                    error.path,
                    error.message[:200],
                )
        super().process_errors(crashes, execution_context)


@dataclass(frozen=True)
class DocumentRules:
    """What a document may be, from the settings: one object for both execution paths."""

    rules: tuple[type[ASTValidationRule], ...]  # beside graphql-core's specified rules
    limits: Limits
    max_tokens: int
    introspection: bool
    suggestions: bool  # "Did you mean …?" in validation errors

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> DocumentRules:
        # Rule classes are built once: a fresh class per request would miss ValidationCache
        # (its key includes the rules), so no per-request QueryDepthLimiter(...) factories.
        rules: list[type[ASTValidationRule]] = [
            depth_rule(settings.max_query_depth, None, None),
            aliases_rule(settings.max_aliases),
        ]
        if not settings.introspection_enabled:
            rules.append(NoSchemaIntrospectionCustomRule)
        limits = Limits(
            max_directives=settings.max_directives,
            max_fields=settings.max_fields,
            max_upstream_root_fields=settings.max_upstream_root_fields,
        )
        return cls(
            tuple(rules),
            limits,
            settings.max_tokens,
            settings.introspection_enabled,
            settings.field_suggestions_enabled,
        )


def build_schema(settings: GatewaySettings, rules: DocumentRules | None = None) -> GatewaySchema:
    """The schema with the limits and switches ``settings`` asks for."""
    # Imported here: the subscription types are built from this module's types.
    from gateway.graphql.subscriptions import LiveResults, Subscription

    rules = rules or DocumentRules.from_settings(settings)
    # Order matters: hooks enter in list order and leave in reverse. DocumentLimits must
    # validate after ValidationCache (to replace its errors with one). Factories, not
    # instances (strawberry#4369); the parse/validation LRU caches live at module level.
    return GatewaySchema(
        query=Query,
        subscription=Subscription,
        config=StrawberryConfig(disable_field_suggestions=not settings.field_suggestions_enabled),
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=rules.max_tokens),
            lambda: AddValidationRules(list(rules.rules)),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: DocumentLimits(rules.limits),
            MaskUnexpectedErrors,
            OperationRecorder,
            Provenance,
            LiveResults,  # extensions.sources and STALE_DATA on each subscription event
        ],
    )


async def get_context(upstreams: UpstreamsDep) -> Context:
    return Context(upstreams)
