"""Current weather from the Open-Meteo forecast API (https://open-meteo.com/en/docs).

One ``GET /v1/forecast`` per reading, on the app's shared client (its ``base_url`` comes
from settings only). Failures are translated at this boundary: no answer before the
deadline is :class:`ProviderTimeout`; unreachable, 5xx or 429 is :class:`ProviderUnavailable`;
any other status or a body we cannot read is :class:`ProviderBadResponse`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weather_service.cities import Place
from weather_service.errors import ProviderBadResponse, ProviderTimeout, ProviderUnavailable
from weather_service.observations import Condition, Reading

logger = logging.getLogger(__name__)

FORECAST_PATH = "/v1/forecast"
CURRENT_VARIABLES = "temperature_2m,relative_humidity_2m,weather_code,wind_speed_10m"

# WMO weather interpretation codes, the subset Open-Meteo reports (see "WMO Weather
# interpretation codes" in its docs). Hail (96, 99) and freezing drizzle (56, 57) fold into
# the nearest condition we name.
WMO_CONDITIONS: dict[int, Condition] = {
    0: Condition.CLEAR,
    1: Condition.MAINLY_CLEAR,
    2: Condition.PARTLY_CLOUDY,
    3: Condition.CLOUDY,
    45: Condition.FOG,
    48: Condition.FOG,
    51: Condition.DRIZZLE,
    53: Condition.DRIZZLE,
    55: Condition.DRIZZLE,
    56: Condition.FREEZING_RAIN,
    57: Condition.FREEZING_RAIN,
    61: Condition.RAIN,
    63: Condition.RAIN,
    65: Condition.RAIN,
    66: Condition.FREEZING_RAIN,
    67: Condition.FREEZING_RAIN,
    71: Condition.SNOW,
    73: Condition.SNOW,
    75: Condition.SNOW,
    77: Condition.SNOW,
    80: Condition.SHOWERS,
    81: Condition.SHOWERS,
    82: Condition.SHOWERS,
    85: Condition.SNOW_SHOWERS,
    86: Condition.SNOW_SHOWERS,
    95: Condition.THUNDERSTORM,
    96: Condition.THUNDERSTORM,
    99: Condition.THUNDERSTORM,
}


class _Current(BaseModel):
    # A garbage answer must fail here, not later: no NaN, nothing off the scale.
    model_config = ConfigDict(allow_inf_nan=False)

    time: datetime  # local wall time of the requested zone, e.g. "2026-11-28T14:00"
    temperature_2m: float = Field(ge=-100, le=100)
    relative_humidity_2m: float = Field(ge=0, le=100)
    weather_code: int
    wind_speed_10m: float = Field(ge=0)


class _Forecast(BaseModel):
    utc_offset_seconds: int = Field(ge=-18 * 3600, le=18 * 3600)
    current: _Current


class OpenMeteoProvider:
    """Readings from Open-Meteo; the whole call, connection included, gets one deadline."""

    def __init__(self, http: httpx.AsyncClient, *, timeout_seconds: float) -> None:
        self._http = http
        self._timeout_seconds = timeout_seconds

    async def current(self, place: Place) -> Reading:
        params: dict[str, str | float] = {
            "latitude": place.latitude,
            "longitude": place.longitude,
            "current": CURRENT_VARIABLES,
            # The gazetteer's zone rather than "auto": times come back in the zone we report,
            # and "auto" has been refused for some coordinates (open-meteo/open-meteo#1785).
            "timezone": place.timezone,
            "wind_speed_unit": "kmh",
        }
        try:
            # httpx's timeout bounds each phase (connect, each read); this bounds the sum.
            async with asyncio.timeout(self._timeout_seconds):
                response = await self._http.get(FORECAST_PATH, params=params)
        except (TimeoutError, httpx.TimeoutException) as exc:
            _log_failure(place, "timeout", exc)
            raise ProviderTimeout(
                f"Open-Meteo did not answer within {self._timeout_seconds:g} s.", extra=_EXTRA
            ) from exc
        except httpx.HTTPError as exc:
            _log_failure(place, "unreachable", exc)
            raise ProviderUnavailable("Open-Meteo could not be reached.", extra=_EXTRA) from exc
        return _reading(place, response)


_EXTRA = {"provider": "open-meteo"}


def _reading(place: Place, response: httpx.Response) -> Reading:
    status = response.status_code
    if status >= 500 or status == httpx.codes.TOO_MANY_REQUESTS:
        _log_failure(place, f"status {status}", None)
        raise ProviderUnavailable(f"Open-Meteo answered HTTP {status}.", extra=_EXTRA)
    if status != httpx.codes.OK:
        # Open-Meteo explains a 4xx in {"error": true, "reason": ...}; that is for our log.
        _log_failure(place, f"status {status}: {response.text[:200]}", None)
        raise ProviderBadResponse(f"Open-Meteo refused the request (HTTP {status}).", extra=_EXTRA)
    try:
        forecast = _Forecast.model_validate_json(response.content)
    except ValidationError as exc:
        _log_failure(place, "unreadable body", exc)
        raise ProviderBadResponse(
            "Open-Meteo sent an answer that is not the expected JSON.", extra=_EXTRA
        ) from exc
    current = forecast.current
    condition = WMO_CONDITIONS.get(current.weather_code)
    if condition is None:
        _log_failure(place, f"unknown weather code {current.weather_code}", None)
        raise ProviderBadResponse(
            f"Open-Meteo sent an unknown weather code ({current.weather_code}).", extra=_EXTRA
        )
    observed_at = current.time
    if observed_at.tzinfo is None:
        offset = timezone(timedelta(seconds=forecast.utc_offset_seconds))
        observed_at = observed_at.replace(tzinfo=offset)
    return Reading(
        temperature_celsius=current.temperature_2m,
        humidity_percent=current.relative_humidity_2m,
        wind_kph=current.wind_speed_10m,
        condition=condition,
        observed_at=observed_at.astimezone(place.zone),
        source="open-meteo",
    )


def _log_failure(place: Place, reason: str, exc: Exception | None) -> None:
    logger.warning(
        "provider.call.failed provider=open-meteo city=%s reason=%s error=%r",
        place.name,
        reason,
        exc,
    )
