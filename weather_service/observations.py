"""What a provider observes, and how each condition reads in French and English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, NamedTuple

from weather_service.config import ProviderName

Lang = Literal["fr", "en"]


class Condition(StrEnum):
    """Stable machine value of the sky and precipitation, whatever the provider."""

    CLEAR = "clear"
    MAINLY_CLEAR = "mainly_clear"
    PARTLY_CLOUDY = "partly_cloudy"
    CLOUDY = "cloudy"
    FOG = "fog"
    DRIZZLE = "drizzle"
    RAIN = "rain"
    FREEZING_RAIN = "freezing_rain"
    SNOW = "snow"
    SHOWERS = "showers"
    SNOW_SHOWERS = "snow_showers"
    THUNDERSTORM = "thunderstorm"

    @property
    def is_snowy(self) -> bool:
        return self in (Condition.SNOW, Condition.SNOW_SHOWERS)


class Label(NamedTuple):
    fr: str
    en: str


# "dégagé" rather than "ensoleillé": a clear sky is also what a screen shows at midnight.
LABELS: dict[Condition, Label] = {
    Condition.CLEAR: Label("dégagé", "clear"),
    Condition.MAINLY_CLEAR: Label("peu nuageux", "mainly clear"),
    Condition.PARTLY_CLOUDY: Label("partiellement nuageux", "partly cloudy"),
    Condition.CLOUDY: Label("nuageux", "cloudy"),
    Condition.FOG: Label("brouillard", "fog"),
    Condition.DRIZZLE: Label("bruine", "drizzle"),
    Condition.RAIN: Label("pluie", "rain"),
    Condition.FREEZING_RAIN: Label("pluie verglaçante", "freezing rain"),
    Condition.SNOW: Label("neige", "snow"),
    Condition.SHOWERS: Label("averses", "showers"),
    Condition.SNOW_SHOWERS: Label("averses de neige", "snow showers"),
    Condition.THUNDERSTORM: Label("orage", "thunderstorm"),
}


def label(condition: Condition, lang: Lang) -> str:
    """The words a display shows for ``condition``."""
    words = LABELS[condition]
    return words.fr if lang == "fr" else words.en


@dataclass(frozen=True, slots=True)
class Reading:
    """One current-weather reading, in the units its field names say."""

    temperature_celsius: float
    humidity_percent: float
    wind_kph: float
    condition: Condition
    observed_at: datetime  # aware, in the place's own time zone
    source: ProviderName
