"""Gateway settings, read from the environment once, in ``create_app``."""

from __future__ import annotations

from pydantic import AliasChoices, AnyHttpUrl, Field, PositiveFloat, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Every knob of the gateway; each one is in README's table and in .env.example."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

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

    # One overall deadline per upstream call, body included (httpx's read timeout is per
    # chunk, so a server dripping bytes would defeat it on its own).
    upstream_timeout_seconds: PositiveFloat = 2.5
    upstream_connect_timeout_seconds: PositiveFloat = 1.0
    upstream_max_connections: PositiveInt = 50
    upstream_max_body_bytes: PositiveInt = 1024 * 1024

    graphiql: bool = True
