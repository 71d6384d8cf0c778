"""The simulated provider: deterministic within an hour, plausible everywhere, all year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import mean

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weather_service.cities import Gazetteer, Place
from weather_service.providers.simulated import simulate

places = st.builds(
    Place,
    geonameid=st.integers(min_value=1, max_value=20_000_000),
    name=st.just("Somewhere"),
    country=st.just("ZZ"),
    latitude=st.floats(min_value=-90, max_value=90),
    longitude=st.floats(min_value=-180, max_value=180),
    timezone=st.timezone_keys(),
    population=st.just(15000),
)
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


def local_time(place: Place, year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=place.zone)


async def test_observed_at_is_the_current_local_hour(client: httpx.AsyncClient) -> None:
    """At 13:17 UTC, Rodez shows 14:00+01:00 and Timbuktu 13:00+00:00, labelled simulated."""
    rodez = (await client.get("/weather", params={"city": "Rodez"})).json()
    timbuktu = (await client.get("/weather", params={"city": "Tombouctou"})).json()
    assert rodez["observed_at"] == "2026-11-28T14:00:00+01:00"
    assert timbuktu["observed_at"] == "2026-11-28T13:00:00+00:00"
    assert rodez["source"] == timbuktu["source"] == "simulated"


async def test_same_city_same_hour_same_answer(client: httpx.AsyncClient) -> None:
    """Asking twice in the same hour gives the very same answer."""
    first = await client.get("/weather", params={"city": "Rodez"})
    second = await client.get("/weather", params={"city": "rodez"})
    assert first.json() == second.json()


@given(place=places, moment=moments, minutes=st.integers(min_value=0, max_value=59))
def test_readings_hold_for_the_whole_local_hour(
    place: Place, moment: datetime, minutes: int
) -> None:
    """Any two moments in the same local hour give the same reading, wherever the place."""
    start = moment.astimezone(place.zone).replace(minute=0, second=0, microsecond=0)
    later = start + timedelta(minutes=minutes)
    assert simulate(place, start) == simulate(place, later)


@given(place=places, moment=moments)
def test_readings_are_plausible_anywhere_anytime(place: Place, moment: datetime) -> None:
    """Humidity 0-100 %, wind >= 0, temperature on Earth's scale, no snow above +5 °C."""
    reading = simulate(place, moment)
    assert 0 <= reading.humidity_percent <= 100
    assert reading.wind_kph >= 0
    assert -60 <= reading.temperature_celsius <= 50
    assert not (reading.condition.is_snowy and reading.temperature_celsius > 5)
    observed = reading.observed_at
    assert observed.utcoffset() == moment.astimezone(place.zone).utcoffset()
    assert (observed.minute, observed.second) == (0, 0)


@pytest.mark.parametrize("city", ["Rodez", "Oslo", "Montreal", "Beijing"])
def test_northern_winter_is_colder_than_summer(gazetteer: Gazetteer, city: str) -> None:
    """Mid-January afternoons are colder than mid-July afternoons in the north."""
    place = gazetteer.resolve(city)
    winter = simulate(place, local_time(place, 2027, 1, 15, 14))
    summer = simulate(place, local_time(place, 2027, 7, 15, 14))
    assert winter.temperature_celsius < summer.temperature_celsius


def test_seasons_are_reversed_in_the_south(gazetteer: Gazetteer) -> None:
    """In Buenos Aires, July afternoons are on average colder than January ones."""
    place = gazetteer.resolve("Buenos Aires")
    july = mean(
        simulate(place, local_time(place, 2027, 7, day, 14)).temperature_celsius
        for day in range(1, 29)
    )
    january = mean(
        simulate(place, local_time(place, 2027, 1, day, 14)).temperature_celsius
        for day in range(1, 29)
    )
    assert july < january - 5


def test_nights_are_cooler_than_afternoons(gazetteer: Gazetteer) -> None:
    """Timbuktu at 04:00 local time is cooler than at 15:00 the same day."""
    place = gazetteer.resolve("Timbuktu")
    for day in range(1, 29):
        night = simulate(place, local_time(place, 2026, 11, day, 4))
        afternoon = simulate(place, local_time(place, 2026, 11, day, 15))
        assert night.temperature_celsius < afternoon.temperature_celsius


def test_the_tropics_are_warmer_than_the_arctic(gazetteer: Gazetteer) -> None:
    """On the same day and hour, Timbuktu is warmer than Tromsø."""
    moment = datetime(2026, 11, 28, 12, tzinfo=UTC)
    timbuktu = simulate(gazetteer.resolve("Timbuktu"), moment)
    tromso = simulate(gazetteer.resolve("Tromsø"), moment)
    assert timbuktu.temperature_celsius > tromso.temperature_celsius + 15
