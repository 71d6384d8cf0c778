"""Gateway settings, read from the environment once, in ``create_app``."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import (
    AliasChoices,
    AnyHttpUrl,
    Field,
    FilePath,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from canaduck.inputs import CITY_MAX_LENGTH

# The largest City representation a router can send for a valid city, as JSON:
# {"__typename":"City","name":"…"}, plus a comma: the longest name, 4 UTF-8 bytes a character.
ENTITY_MAX_BYTES = len('{"__typename":"City","name":""},') + CITY_MAX_LENGTH * 4
# Room for the rest of an _entities request: its document, operation name, JSON framing.
ENTITY_QUERY_ALLOWANCE_BYTES = 8 * 1024


class GatewaySettings(BaseSettings):
    """Every knob of the gateway; each is in docs/configuration.md and .env.example."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="forbid", populate_by_name=True)

    # The upstream base URLs are the seed's contract names (no prefix). Only these URLs are
    # ever called: client input travels as encoded query parameters, never into a URL.
    weather_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8001"),
        validation_alias=AliasChoices("WEATHER_URL", "GATEWAY_WEATHER_URL"),
    )
    joke_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8002"),
        validation_alias=AliasChoices("JOKE_URL", "GATEWAY_JOKE_URL"),
    )

    # Deadlines. Each upstream call has one overall deadline, body and retry included
    # (httpx's read timeout is per chunk: a server dripping bytes defeats it alone). The
    # request deadline bounds the whole fan-out and must be the longer of the two.
    request_timeout_seconds: PositiveFloat = 3.0
    # Load shedding: past the limit of requests in flight, answer 503 OVERLOADED at once.
    # The limit is at most max_in_flight (0 = no limit), lowered toward min_in_flight while
    # the event loop lags more than shed_loop_lag_seconds (0 = a fixed cap). After a 503,
    # the connection's next request is read shed_pause_seconds later (0 = at once).
    # Shutdown: after SIGTERM, fail readiness and keep serving this long.
    max_in_flight: NonNegativeInt = 64
    min_in_flight: PositiveInt = 8
    shed_loop_lag_seconds: float = Field(default=0.0, ge=0)
    shed_pause_seconds: float = Field(default=0.01, ge=0, le=1)
    shutdown_drain_seconds: float = Field(default=5.0, ge=0)
    upstream_timeout_seconds: PositiveFloat = 2.5
    upstream_connect_timeout_seconds: PositiveFloat = 1.0

    # Bounds: a full pool fails fast rather than queueing; bodies are capped once decoded.
    upstream_max_connections: PositiveInt = 50
    upstream_pool_timeout_seconds: PositiveFloat = 0.5
    upstream_max_body_bytes: PositiveInt = 1024 * 1024
    max_request_body_bytes: PositiveInt = 64 * 1024

    # Retries: at most one, for "try again" failures, within a budget of calls.
    upstream_retries: NonNegativeInt = Field(default=1, le=1)
    upstream_retry_budget_ratio: float = Field(default=0.2, ge=0, le=1)
    upstream_retry_min_remaining_seconds: PositiveFloat = 1.0

    # Circuit breaker per upstream.
    breaker_failure_threshold: PositiveInt = 5
    breaker_cooldown_seconds: PositiveFloat = 30.0

    # Cache of upstream answers: TTLs per field in this one place (0 = not cached), a stale
    # window served only when the upstream fails, and where entries live (this process by
    # default; CACHE_URL=redis://... shares them between gateway replicas).
    cache_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CACHE_URL", "GATEWAY_CACHE_URL")
    )
    cache_weather_ttl_seconds: float = Field(default=60.0, ge=0)
    cache_joke_ttl_seconds: float = Field(default=0.0, ge=0)
    cache_max_stale_seconds: float = Field(default=600.0, ge=0)
    cache_max_entries: PositiveInt = 10_000
    cache_key_prefix: str = "canaduck:"  # Redis keys; lets environments share one Redis
    # A shared cache may fail: each Redis call has its own short deadline, and a breaker of
    # its own skips Redis (every read a miss) while it keeps failing, probing once per cooldown.
    cache_timeout_seconds: PositiveFloat = 0.1
    cache_breaker_failure_threshold: PositiveInt = 3
    cache_breaker_cooldown_seconds: PositiveFloat = 5.0

    # Live subscriptions (docs/subscriptions.md): one shared poll per (city, lang, country)
    # every refresh, pushed to subscribers only when what they selected changed; the joke
    # rotates on its own clock. The bounds keep long-lived connections from piling up.
    live_refresh_seconds: float = Field(default=60.0, ge=1)
    live_joke_seconds: float = Field(default=300.0, ge=1)
    live_linger_seconds: float = Field(default=5.0, ge=0)  # poller kept after the last leaves
    live_max_connections: PositiveInt = 1000  # WebSocket + SSE connections, this process
    live_max_subscriptions_per_connection: PositiveInt = 10
    live_ping_seconds: PositiveFloat = 15.0  # WebSocket ping / SSE heartbeat
    live_idle_timeout_seconds: PositiveFloat = 45.0  # WebSocket: nothing heard for this long
    live_queue_size: PositiveInt = 8  # unsent updates per subscriber before it is dropped
    live_max_feeds: PositiveInt = 200  # distinct (city, lang, country) polled at once

    # One switch for a public deployment: CANADUCK_ENV=production turns off everything an
    # attacker enjoys and a developer wants (the GraphiQL page, introspection, "did you mean"
    # suggestions, queries over GET). Each one can still be set on its own; unset, it
    # follows the switch.
    env: Literal["development", "production"] = Field(
        default="development", validation_alias=AliasChoices("CANADUCK_ENV", "GATEWAY_ENV")
    )
    graphiql: bool | None = None
    introspection: bool | None = None
    field_suggestions: bool | None = None
    get_queries: bool | None = None
    # The federation subgraph at /subgraph/graphql (docs/federation.md): for a router on a
    # private network only, since `_service { sdl }` answers whatever the introspection
    # switch says. On in development; production needs GATEWAY_SUBGRAPH=true.
    subgraph: bool | None = None
    # Entity representations a router may send in one request (all of them are resolved
    # concurrently, one upstream call per distinct city); above it, one error and no call.
    max_entities: PositiveInt = 100

    # Document limits, enforced before any upstream call. Every fullinfo alias costs up to
    # two upstream calls, so the shape of a document is an amplification lever.
    max_query_depth: PositiveInt = 5
    max_aliases: NonNegativeInt = 15
    max_tokens: PositiveInt = 1000
    max_directives: NonNegativeInt = 5
    max_fields: PositiveInt = 100
    max_upstream_root_fields: PositiveInt = 2

    # Documents by hash: Apollo's automatic persisted queries (registered per process, in a
    # bounded LRU), and an optional allow-list of trusted documents (a JSON manifest of
    # sha256 → document); with it, nothing else runs.
    persisted_queries: bool = True
    persisted_queries_max_entries: PositiveInt = 1000
    trusted_documents: FilePath | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    def _dev_default(self, value: bool | None) -> bool:
        return (not self.production) if value is None else value

    @property
    def graphiql_enabled(self) -> bool:
        return self._dev_default(self.graphiql)

    @property
    def introspection_enabled(self) -> bool:
        return self._dev_default(self.introspection)

    @property
    def field_suggestions_enabled(self) -> bool:
        return self._dev_default(self.field_suggestions)

    @property
    def get_queries_enabled(self) -> bool:
        return self._dev_default(self.get_queries)

    @property
    def subgraph_enabled(self) -> bool:
        return self._dev_default(self.subgraph)

    @model_validator(mode="after")
    def _max_entities_fit_the_body_limit(self) -> Self:
        # A router sends every representation in one POST: the largest it may send must fit
        # the body cap, or the subgraph answers 413 where it promised a GraphQL error.
        needed = self.max_entities * ENTITY_MAX_BYTES + ENTITY_QUERY_ALLOWANCE_BYTES
        if self.subgraph_enabled and needed > self.max_request_body_bytes:
            raise ValueError(
                f"GATEWAY_MAX_ENTITIES={self.max_entities} needs request bodies of up to "
                f"{needed} bytes: raise GATEWAY_MAX_REQUEST_BODY_BYTES to at least that, "
                "or lower GATEWAY_MAX_ENTITIES"
            )
        return self

    @model_validator(mode="after")
    def _upstream_deadline_within_request_deadline(self) -> Self:
        if self.upstream_timeout_seconds >= self.request_timeout_seconds:
            raise ValueError(
                "GATEWAY_UPSTREAM_TIMEOUT_SECONDS must be below "
                "GATEWAY_REQUEST_TIMEOUT_SECONDS, so a partial answer can "
                "still be sent when an upstream times out"
            )
        return self
