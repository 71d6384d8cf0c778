"""Weather providers: where a :class:`~weather_service.observations.Reading` comes from.

A provider turns a gazetteer :class:`~weather_service.cities.Place` into a reading with a
machine :class:`~weather_service.observations.Condition`; labels and language are applied
by the API, never here. :func:`make_provider` is the one place that knows them all:

- ``simulated`` (default): deterministic, plausible readings computed offline;
- ``open-meteo``: the Open-Meteo forecast API over the app's shared HTTP client.

A provider reports failures as :class:`~weather_service.errors.ProviderError` subclasses.
"""

from __future__ import annotations

from typing import Protocol, assert_never

import httpx

from weather_service.cities import Place
from weather_service.config import WeatherSettings
from weather_service.observations import Reading
from weather_service.providers.open_meteo import OpenMeteoProvider
from weather_service.providers.simulated import SimulatedProvider


class WeatherProvider(Protocol):
    async def current(self, place: Place) -> Reading:
        """The weather at ``place`` now."""
        ...


def make_provider(
    settings: WeatherSettings, http_client: httpx.AsyncClient | None
) -> WeatherProvider:
    """The provider ``settings.provider`` names; ``http_client`` is required by open-meteo."""
    match settings.provider:
        case "simulated":
            return SimulatedProvider()
        case "open-meteo":
            if http_client is None:
                raise ValueError("the open-meteo provider needs the app's shared HTTP client")
            return OpenMeteoProvider(http_client, timeout_seconds=settings.provider_timeout_seconds)
        case unknown:
            assert_never(unknown)


__all__ = ["OpenMeteoProvider", "SimulatedProvider", "WeatherProvider", "make_provider"]
