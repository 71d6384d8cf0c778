"""The REST front door: ``GET /weather`` and ``GET /health``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from canaduck.inputs import CITY_MAX_LENGTH, City
from canaduck.problems import problem_responses
from weather_service.cities import Gazetteer
from weather_service.config import ProviderName
from weather_service.observations import Condition, Lang, label
from weather_service.providers import WeatherProvider

router = APIRouter()


# async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, which costs
# more than the whole lookup.
async def get_gazetteer(request: Request) -> Gazetteer:
    gazetteer: Gazetteer = request.state.gazetteer
    return gazetteer


async def get_provider(request: Request) -> WeatherProvider:
    provider: WeatherProvider = request.state.provider
    return provider


GazetteerDep = Annotated[Gazetteer, Depends(get_gazetteer)]
ProviderDep = Annotated[WeatherProvider, Depends(get_provider)]

# Pydantic writes a zero offset as "Z"; a screen in London should read "+00:00" like any other
# local time.
LocalTime = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class WeatherReport(BaseModel):
    """The current weather in one city."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "city": "Rodez",
                    "country": "FR",
                    "latitude": 44.35258,
                    "longitude": 2.57338,
                    "timezone": "Europe/Paris",
                    "temperature": 21.2,
                    "condition": "nuageux",
                    "condition_code": "cloudy",
                    "humidity": 64,
                    "wind_kph": 12.3,
                    "observed_at": "2026-11-28T14:00:00+01:00",
                    "source": "simulated",
                    "lang": "fr",
                }
            ]
        }
    )

    city: str = Field(description="The gazetteer's name for the city the query matched.")
    country: str = Field(description="ISO 3166-1 alpha-2 country code.")
    latitude: float
    longitude: float
    timezone: str = Field(description="IANA time zone of the city.")
    temperature: float = Field(description="Air temperature in °C, one decimal.")
    condition: str = Field(description="The condition in words, in the requested language.")
    condition_code: Condition = Field(description="The condition as a stable machine value.")
    humidity: int = Field(ge=0, le=100, description="Relative humidity in %.")
    wind_kph: float = Field(ge=0, description="Wind speed in km/h, one decimal.")
    observed_at: LocalTime = Field(description="When observed, with the city's UTC offset.")
    source: ProviderName = Field(description="Where the reading comes from.")
    lang: Lang


class Health(BaseModel):
    status: Literal["ok"] = "ok"


_ERRORS = problem_responses(
    {
        404: "CITY_NOT_FOUND: no known city has that name (in that country).",
        422: "INVALID_INPUT: missing or malformed city, lang or country.",
        502: "PROVIDER_UNAVAILABLE or PROVIDER_BAD_RESPONSE: the provider failed.",
        504: "PROVIDER_TIMEOUT: the provider did not answer in time.",
    }
)

CityQuery = Annotated[
    City,
    Query(
        max_length=CITY_MAX_LENGTH,
        description="City name, any case, accents optional; alternate names work (Tombouctou).",
        examples=["Rodez"],
    ),
]
LangQuery = Annotated[Lang, Query(description="Language of the condition label.")]
CountryQuery = Annotated[
    str | None,
    Query(
        pattern="^[A-Za-z]{2}$",
        description="ISO 3166-1 alpha-2 code, to pick a city among namesakes (Paris, US).",
        examples=["FR"],
    ),
]


@router.get("/health")
async def health() -> Health:
    """Liveness: the service is up (does not call the provider)."""
    return Health()


@router.get("/weather", responses=_ERRORS)
async def weather(
    city: CityQuery,
    gazetteer: GazetteerDep,
    provider: ProviderDep,
    lang: LangQuery = "fr",
    country: CountryQuery = None,
) -> WeatherReport:
    """The current weather in a city, with the condition in French (default) or English."""
    place = gazetteer.resolve(city, country)
    reading = await provider.current(place)
    return WeatherReport(
        city=place.name,
        country=place.country,
        latitude=place.latitude,
        longitude=place.longitude,
        timezone=place.timezone,
        temperature=round(reading.temperature_celsius, 1),
        condition=label(reading.condition, lang),
        condition_code=reading.condition,
        humidity=round(reading.humidity_percent),
        wind_kph=round(reading.wind_kph, 1),
        observed_at=reading.observed_at,
        source=reading.source,
        lang=lang,
    )
