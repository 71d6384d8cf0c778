"""Offline, deterministic and plausible readings: the default provider.

A reading depends only on the place and the local hour there, through a stable hash (never
Python's salted ``hash()``), so every process gives the same answer for the same city all
hour long. The shape is climatology, not noise: colder toward the poles, winter when the
place's hemisphere has it, cooler at night by the local clock; a warm or cold spell and a
wet or dry sky last the whole day, and each hour adds a little variation. Precipitation
turns to snow only near or below freezing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime

from weather_service.cities import Place
from weather_service.observations import Condition, Reading

_SPELL_CELSIUS = 5.0  # a day's departure from the seasonal mean, at most
_HOURLY_NOISE_CELSIUS = 0.8
_DIURNAL_HALF_RANGE_CELSIUS = 4.0
_WARMEST_HOUR = 15  # local time; the coldest is twelve hours earlier
_COLDEST_DAY_OF_YEAR = 15  # mid-January in the north, mid-July in the south

_HUMIDITY_PERCENT = {
    Condition.CLEAR: 45.0,
    Condition.MAINLY_CLEAR: 50.0,
    Condition.PARTLY_CLOUDY: 58.0,
    Condition.CLOUDY: 68.0,
    Condition.FOG: 97.0,
    Condition.DRIZZLE: 90.0,
    Condition.RAIN: 88.0,
    Condition.FREEZING_RAIN: 92.0,
    Condition.SNOW: 88.0,
    Condition.SHOWERS: 80.0,
    Condition.SNOW_SHOWERS: 82.0,
    Condition.THUNDERSTORM: 80.0,
}
_GUSTS_KPH = {
    Condition.RAIN: 5.0,
    Condition.SHOWERS: 8.0,
    Condition.SNOW_SHOWERS: 8.0,
    Condition.THUNDERSTORM: 20.0,
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatedProvider:
    """Readings computed from the place and the clock; ``now`` is injectable for tests."""

    def __init__(self, now: Callable[[], datetime] = _utc_now) -> None:
        self._now = now

    async def current(self, place: Place) -> Reading:
        return simulate(place, self._now())


def simulate(place: Place, moment: datetime) -> Reading:
    """The reading at ``place`` for the local hour that contains ``moment`` (an aware time)."""
    hour = moment.astimezone(place.zone).replace(minute=0, second=0, microsecond=0)
    spell, day_sky, day_wind = _draws(place.geonameid, hour.date().isoformat(), 3)
    hour_noise, hour_sky, hour_humidity, hour_wind = _draws(
        place.geonameid, hour.astimezone(UTC).isoformat(), 4
    )
    # +1 at the warmest hour of the day, -1 at the coldest.
    daytime = math.cos(2 * math.pi * (hour.hour - _WARMEST_HOUR) / 24)
    temperature = (
        _seasonal_mean_celsius(place.latitude, hour.timetuple().tm_yday)
        + _DIURNAL_HALF_RANGE_CELSIUS * daytime
        + (2 * spell - 1) * _SPELL_CELSIUS
        + (2 * hour_noise - 1) * _HOURLY_NOISE_CELSIUS
    )
    condition = _condition(0.6 * day_sky + 0.4 * hour_sky, temperature, hour.hour)
    humidity = _HUMIDITY_PERCENT[condition] - 12 * daytime + (2 * hour_humidity - 1) * 8
    wind = 3 + 22 * day_wind**2 + 6 * hour_wind + _GUSTS_KPH.get(condition, 0.0)
    return Reading(
        temperature_celsius=temperature,
        humidity_percent=min(100.0, max(5.0, humidity)),
        wind_kph=wind,
        condition=condition,
        observed_at=hour,
        source="simulated",
    )


def _draws(geonameid: int, period: str, count: int) -> tuple[float, ...]:
    """``count`` independent uniform numbers in [0, 1) for this place and period."""
    digest = hashlib.blake2b(f"{geonameid}|{period}".encode(), digest_size=8 * count).digest()
    return tuple(int.from_bytes(digest[i : i + 8]) / 2**64 for i in range(0, 8 * count, 8))


def _seasonal_mean_celsius(latitude: float, day_of_year: int) -> float:
    """Mean temperature for the latitude and day: roughly right for lowland cities."""
    distance_from_equator = abs(latitude)
    annual_mean = 27.0 - 0.5 * max(0.0, distance_from_equator - 15.0)
    half_range = 0.18 * distance_from_equator  # seasons grow stronger toward the poles
    winter = math.cos(2 * math.pi * (day_of_year - _COLDEST_DAY_OF_YEAR) / 365.25)
    hemisphere = 1.0 if latitude >= 0 else -1.0
    return annual_mean - hemisphere * half_range * winter


def _condition(sky: float, temperature: float, local_hour: int) -> Condition:
    """Map a sky draw in [0, 1) (higher is wetter) to a condition that fits the temperature."""
    if sky < 0.30:
        return Condition.CLEAR
    if sky < 0.45:
        return Condition.MAINLY_CLEAR
    if sky < 0.60:
        return Condition.PARTLY_CLOUDY
    if sky < 0.75:
        # Radiation fog forms in cool nights and mornings.
        if sky > 0.72 and local_hour < 10 and temperature < 15:
            return Condition.FOG
        return Condition.CLOUDY
    wet = (sky - 0.75) / 0.25  # how heavily it falls, 0 to 1
    if temperature <= 0:
        if temperature > -3 and wet > 0.9:
            return Condition.FREEZING_RAIN
        return Condition.SNOW if wet < 0.6 else Condition.SNOW_SHOWERS
    if temperature < 2:
        return Condition.SNOW_SHOWERS if wet < 0.5 else Condition.RAIN
    if wet < 0.3:
        return Condition.DRIZZLE
    if wet < 0.65:
        return Condition.RAIN
    if wet < 0.9 or temperature < 15:
        return Condition.SHOWERS
    return Condition.THUNDERSTORM
