"""The upstream payloads the gateway relies on, checked at the boundary.

An answer that does not fit these shapes is an ``UpstreamBadResponse``, never a 500.
Unknown extra keys are ignored, so the services can grow without breaking the gateway.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Lang(StrEnum):
    FR = "fr"
    EN = "en"


class WeatherReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    city: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    temperature: float
    condition: str
    condition_code: str
    humidity: int
    wind_kph: float
    observed_at: datetime
    source: str


class JokePayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    joke: str
    lang: Lang
