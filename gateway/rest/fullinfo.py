"""The merged answer of ``GET /fullinfo``: both upstreams at once, then one JSON body.

GraphQL does its own fan-out (one resolver per field); this module serves the REST route,
which always wants both parts. A failed part becomes ``null`` plus an entry in ``errors``;
when both parts fail there is nothing useful left and the caller gets an error status.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway import context
from gateway.errors import ApiError, CityNotFound, UpstreamBadResponse, UpstreamError
from gateway.upstream.models import JokePayload, Lang, WeatherReport
from gateway.upstream.services import Answer, Upstreams

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FullInfo:
    city: str
    weather: Answer[WeatherReport] | UpstreamError
    joke: Answer[JokePayload] | UpstreamError

    @property
    def failures(self) -> dict[str, UpstreamError]:
        """The parts that are missing."""
        parts = {"weather": self.weather, "joke": self.joke}
        return {name: part for name, part in parts.items() if isinstance(part, UpstreamError)}

    @property
    def errors(self) -> dict[str, ApiError]:
        """Missing parts, and parts served stale from the cache (present, but old)."""
        errors: dict[str, ApiError] = dict(self.failures)
        for name, part in (("weather", self.weather), ("joke", self.joke)):
            if isinstance(part, Answer) and part.stale_error is not None:
                errors[name] = part.stale_error
        return errors

    def to_json(self, sources: dict[str, Any] | None = None) -> dict[str, Any]:
        """The seed's shape, plus ``errors`` when a part is missing or stale, and
        ``sources`` (where each part came from) when known."""
        body: dict[str, Any] = {
            "city": self.city,
            "weather": None
            if isinstance(self.weather, UpstreamError)
            else self.weather.value.model_dump(mode="json"),
            "joke": None if isinstance(self.joke, UpstreamError) else self.joke.value.joke,
        }
        if self.errors:
            body["errors"] = [error_entry(path, error) for path, error in self.errors.items()]
        if sources:
            body["sources"] = sources
        return body


def error_entry(path: str, error: ApiError) -> dict[str, Any]:
    """One failed part, in the same vocabulary as a GraphQL error's extensions."""
    return {
        "path": [path],
        "detail": error.detail,
        **error.extensions,
        **context.problem_context(),
    }


def _settled(result: T | BaseException) -> T | UpstreamError:
    # Our own upstream errors are outcomes to report; anything else is a bug to raise.
    if isinstance(result, UpstreamError) or not isinstance(result, BaseException):
        return result
    raise result


async def fetch_fullinfo(
    upstreams: Upstreams, city: str, lang: Lang, country: str | None = None
) -> FullInfo:
    """Call both upstreams concurrently; raise only when the city itself is unknown."""
    weather, joke = await asyncio.gather(
        upstreams.weather_report(city, lang, country),
        upstreams.random_joke(lang),
        return_exceptions=True,
    )
    if isinstance(weather, CityNotFound):
        raise weather
    return FullInfo(city=city, weather=_settled(weather), joke=_settled(joke))


def status_when_all_failed(errors: list[UpstreamError]) -> int:
    """One shared cause keeps its status (all timed out → 504); mixed causes → 502."""
    statuses = {error.status_code for error in errors}
    return statuses.pop() if len(statuses) == 1 else UpstreamBadResponse.status_code
