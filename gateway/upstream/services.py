"""The weather and joke services as the rest of the gateway sees them: typed answers.

``Upstreams.weather_report`` and ``Upstreams.random_joke`` return an :class:`Answer`: the
parsed value, and where it came from (network or cache, how old); a stale one carries the
``STALE_DATA`` warning to show beside it. Transport, policies and caching live in
``client``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from gateway.config import GatewaySettings
from gateway.errors import CityNotFound, Service, StaleData
from gateway.upstream.breaker import CircuitBreaker
from gateway.upstream.cache import Cache, CacheBackend, MemoryBackend, RedisBackend
from gateway.upstream.client import Fetched, Upstream, make_exchange
from gateway.upstream.models import JokePayload, Lang, WeatherReport
from gateway.upstream.observer import UpstreamObserver
from gateway.upstream.transport import UpstreamResponse

M = TypeVar("M", bound=BaseModel)


class Upstreams:
    """The weather and joke services, as the rest of the gateway sees them."""

    def __init__(self, weather: Upstream, joke: Upstream, cache: Cache | None = None) -> None:
        self.weather = weather
        self.joke = joke
        self.cache = cache or weather.cache

    def __iter__(self) -> Iterator[Upstream]:
        return iter((self.weather, self.joke))

    @classmethod
    async def open(
        cls,
        stack: AsyncExitStack,
        settings: GatewaySettings,
        transports: Mapping[Service, httpx.AsyncBaseTransport],
        observer: UpstreamObserver,
    ) -> Upstreams:
        """Both upstreams with their connection pools and the cache; ``stack`` closes them all."""
        backend: CacheBackend = (
            RedisBackend(
                settings.cache_url,
                prefix=settings.cache_key_prefix,
                timeout_seconds=settings.cache_timeout_seconds,
                breaker=CircuitBreaker(
                    failure_threshold=settings.cache_breaker_failure_threshold,
                    cooldown_seconds=settings.cache_breaker_cooldown_seconds,
                ),
                on_error=observer.cache_error,
            )
            if settings.cache_url
            else MemoryBackend(max_entries=settings.cache_max_entries)
        )
        cache = Cache(backend)
        stack.push_async_callback(cache.close)

        async def upstream(
            service: Service, base_url: str, model: type[BaseModel], ttl: float
        ) -> Upstream:
            exchange = make_exchange(settings, transports.get(service))
            stack.push_async_callback(exchange.aclose)
            return Upstream(
                service,
                exchange,
                base_url,
                settings,
                observer,
                model=model,
                cache=cache,
                cache_ttl_seconds=ttl,
            )

        return cls(
            weather=await upstream(
                "weather",
                str(settings.weather_url),
                WeatherReport,
                settings.cache_weather_ttl_seconds,
            ),
            joke=await upstream(
                "joke", str(settings.joke_url), JokePayload, settings.cache_joke_ttl_seconds
            ),
            cache=cache,
        )

    async def weather_report(
        self, city: str, lang: Lang, country: str | None = None
    ) -> Answer[WeatherReport]:
        params = {"city": city, "lang": lang.value}
        if country is not None:
            params["country"] = country
        fetched = await self.weather.get("/weather", params)
        response = fetched.response
        if response.status_code == 404 and _problem_code(response) == CityNotFound.code:
            raise CityNotFound(city)
        return Answer(self.weather.parse(response, WeatherReport), fetched)

    async def random_joke(self, lang: Lang) -> Answer[JokePayload]:
        fetched = await self.joke.get("/joke", {"lang": lang.value})
        return Answer(self.joke.parse(fetched.response, JokePayload), fetched)


@dataclass(frozen=True, slots=True)
class Answer(Generic[M]):
    """A parsed upstream answer, with where it came from."""

    value: M
    fetched: Fetched

    @property
    def stale_error(self) -> StaleData | None:
        """The error to report beside a stale value (None when the value is current)."""
        cause = self.fetched.stale_cause
        if cause is None:
            return None
        return StaleData(cause, self.fetched.age_seconds)


class _Problem(BaseModel):
    code: str | None = None


def _problem_code(response: UpstreamResponse) -> str | None:
    try:
        return _Problem.model_validate_json(response.content).code
    except ValidationError:
        return None
