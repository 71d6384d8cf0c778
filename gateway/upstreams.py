"""The two REST services behind the gateway, as typed async calls.

``Upstream.fetch`` is the one door to the network: a fixed base URL from settings, client
input only as encoded query parameters, one overall deadline for the whole exchange (body
included), a cap on the decoded body size, redirects never followed, and every httpx
failure translated into the ``gateway.errors`` tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from gateway.config import GatewaySettings
from gateway.errors import (
    CityNotFound,
    Service,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.models import JokePayload, Lang, WeatherReport

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status_code: int
    content: bytes
    content_type: str


class BodyTooLarge(Exception):
    pass


class Upstream:
    """One REST service: its pooled client, its deadline and its body cap."""

    def __init__(
        self,
        service: Service,
        client: httpx.AsyncClient,
        *,
        timeout_seconds: float,
        max_body_bytes: int,
    ) -> None:
        self.service = service
        self.client = client
        self.timeout_seconds = timeout_seconds
        self.max_body_bytes = max_body_bytes

    async def fetch(self, path: str, params: Mapping[str, str]) -> UpstreamResponse:
        """GET ``path`` with ``params``; any status comes back, transport failures raise."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async with self.client.stream("GET", path, params=params) as response:
                    content = await self._read_capped(response)
        except TimeoutError as exc:
            raise UpstreamTimeout(self.service) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(self.service) from exc
        except httpx.ConnectError as exc:
            raise UpstreamUnavailable(self.service) from exc
        except (httpx.HTTPError, BodyTooLarge) as exc:
            # Reset mid-body, protocol garbage, undecodable gzip, oversized body.
            raise UpstreamBadResponse(self.service) from exc
        return UpstreamResponse(
            status_code=response.status_code,
            content=content,
            content_type=response.headers.get("content-type", "application/octet-stream"),
        )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        # aiter_bytes yields *decoded* chunks, so a gzip bomb stops at the cap too.
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge(f"body over {self.max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def parse(self, response: UpstreamResponse, model: type[M]) -> M:
        """A 200 JSON answer as ``model``; any other answer raises."""
        if response.status_code != 200:
            raise error_for_status(self.service, response.status_code)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise UpstreamBadResponse(self.service) from exc


def error_for_status(service: Service, status: int) -> UpstreamError:
    """The error that an unusable upstream status stands for."""
    if status == 503:
        return UpstreamUnavailable(service, upstream_status=status)
    if status == 504:
        return UpstreamTimeout(service, upstream_status=status)
    return UpstreamBadResponse(service, upstream_status=status)


class Upstreams:
    """The weather and joke services, as the rest of the gateway sees them."""

    def __init__(self, weather: Upstream, joke: Upstream) -> None:
        self.weather = weather
        self.joke = joke

    async def weather_report(
        self, city: str, lang: Lang, country: str | None = None
    ) -> WeatherReport:
        params = {"city": city, "lang": lang.value}
        if country is not None:
            params["country"] = country
        response = await self.weather.fetch("/weather", params)
        if response.status_code == 404 and _problem_code(response) == CityNotFound.code:
            raise CityNotFound(city)
        return self.weather.parse(response, WeatherReport)

    async def random_joke(self, lang: Lang) -> JokePayload:
        response = await self.joke.fetch("/joke", {"lang": lang.value})
        return self.joke.parse(response, JokePayload)


class _Problem(BaseModel):
    code: str | None = None


def _problem_code(response: UpstreamResponse) -> str | None:
    try:
        return _Problem.model_validate_json(response.content).code
    except ValidationError:
        return None


def make_client(
    base_url: str, settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A pooled client for one upstream; the lifespan owns and closes it."""
    limits = httpx.Limits(
        max_connections=settings.upstream_max_connections,
        max_keepalive_connections=settings.upstream_max_connections,
    )
    timeout = httpx.Timeout(
        settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
    )
    return httpx.AsyncClient(
        base_url=base_url,
        limits=limits,
        timeout=timeout,
        follow_redirects=False,
        transport=transport,
    )
