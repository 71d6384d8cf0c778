"""In-process stand-ins for the weather and joke services, with switchable faults.

Each fake records the query parameters of every call it receives, so tests can assert
which upstreams a request touched, how often, and with what.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Fault = Literal["dead", "500", "502", "503", "504", "429", "html", "truncated", "wrong_shape"]

DUCK_JOKE = "Où est caché le canard ? Dans le coin."


def weather_body(city: str, lang: str = "fr") -> dict[str, object]:
    return {
        "city": city.title(),
        "country": "FR",
        "latitude": 44.35,
        "longitude": 2.57,
        "timezone": "Europe/Paris",
        "temperature": 21.2,
        "condition": "nuageux" if lang == "fr" else "cloudy",
        "condition_code": "cloudy",
        "humidity": 71,
        "wind_kph": 12.5,
        "observed_at": "2026-11-28T14:00:00+01:00",
        "source": "simulated",
        "lang": lang,
    }


@dataclass
class FakeUpstream:
    """One fake service; set ``fault`` or ``delay_seconds`` at any time during a test."""

    service: Literal["weather", "joke"]
    fault: Fault | None = None
    delay_seconds: float = 0.0
    calls: list[dict[str, str]] = field(default_factory=list)
    request_ids: list[str | None] = field(default_factory=list)
    # Faults for the next calls, one per call, before ``fault`` applies again.
    script: list[Fault | None] = field(default_factory=list)
    # A fixed answer (status, body bytes, content type) overriding the normal one.
    canned: tuple[int, bytes, str] | None = None
    refused: int = 0  # connection attempts refused while "dead"
    # (start, end) monotonic times of each call's delay: lets a test prove two calls overlapped.
    spans: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        path = "/weather" if self.service == "weather" else "/joke"
        self.app = Starlette(routes=[Route(path, self._handle), Route("/health", _healthy)])
        self.transport = _FakeTransport(self)

    async def _handle(self, request: Request) -> Response:
        self.calls.append(dict(request.query_params))
        self.request_ids.append(request.headers.get("x-request-id"))
        if self.delay_seconds:
            started = time.monotonic()
            await asyncio.sleep(self.delay_seconds)
            self.spans.append((started, time.monotonic()))
        if self.canned is not None:
            status, body, content_type = self.canned
            return Response(body, status_code=status, media_type=content_type)
        faulty = self._faulty_answer()
        if faulty is not None:
            return faulty
        if self.service == "joke":
            return JSONResponse(
                {"id": 7, "joke": DUCK_JOKE, "lang": request.query_params.get("lang", "fr")}
            )
        city = request.query_params.get("city", "")
        if city.casefold() == "nowhere":
            return JSONResponse(
                {
                    "title": "City not found",
                    "status": 404,
                    "code": "CITY_NOT_FOUND",
                    "detail": "no such city",
                },
                status_code=404,
                media_type="application/problem+json",
            )
        return JSONResponse(weather_body(city, request.query_params.get("lang", "fr")))

    def _faulty_answer(self) -> Response | None:
        fault = self.script.pop(0) if self.script else self.fault
        match fault:
            case "500" | "502" | "503" | "504" | "429":
                return Response(
                    "Internal Server Error: db at 10.0.0.5 down", status_code=int(fault)
                )
            case "html":
                return Response("<html><body>Bad gateway</body></html>", media_type="text/html")
            case "truncated":
                return Response(json.dumps(weather_body("x"))[:40], media_type="application/json")
            case "wrong_shape":
                return JSONResponse({"temperature": "warm", "unexpected": True})
            case _:
                return None


async def _healthy(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class _FakeTransport(httpx.AsyncBaseTransport):
    def __init__(self, fake: FakeUpstream) -> None:
        self.fake = fake
        self.asgi = httpx.ASGITransport(app=fake.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.fake.fault == "dead" and not self.fake.script:
            self.fake.refused += 1
            raise httpx.ConnectError("Connection refused", request=request)
        if self.fake.script and self.fake.script[0] == "dead":
            self.fake.script.pop(0)
            self.fake.refused += 1
            raise httpx.ConnectError("Connection refused", request=request)
        return await self.asgi.handle_async_request(request)
