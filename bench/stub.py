"""A lean stub upstream: raw ASGI under uvicorn (uvloop, httptools), sleeping a known delay.

    python -m bench.stub --port N --service weather|joke --delay-ms 50

It answers the service's JSON contract after sleeping the delay, and counts every call by
key (``city|lang`` for weather, ``lang`` for jokes) so the bench can tell cache hits and
coalesced calls from real ones. No framework, so it is never the bottleneck:

    GET  /weather?city=&lang=   or   GET /joke?lang=     the contract, after the delay
    GET  /health                                        200 at once
    GET  /__stats                                       {"calls": n, "keys": {key: n}}
    POST /__delay?ms=4                                  change the delay from now on
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.types import Receive, Scope, Send

JOKE = "Où est caché le canard ? Dans le coin."
MAX_KEYS = 10_000  # keys remembered; the total keeps counting past it


def weather_body(city: str, lang: str) -> dict[str, object]:
    """The weather service's contract (the same shape as tests.support.fake_upstreams)."""
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


class Stub:
    """The ASGI app of one stub service."""

    def __init__(self, service: str, delay_seconds: float) -> None:
        self.path = f"/{service}"
        self.service = service
        self.delay_seconds = delay_seconds
        self.calls = 0
        self.keys: Counter[str] = Counter()

    def _answer(self, query: dict[str, list[str]]) -> tuple[str, bytes]:
        lang = query.get("lang", ["fr"])[0]
        if self.service == "joke":
            return lang, json.dumps({"id": 7, "joke": JOKE, "lang": lang}).encode()
        city = query.get("city", [""])[0]
        return f"{city}|{lang}", json.dumps(weather_body(city, lang)).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        query = parse_qs(scope["query_string"].decode("latin-1"))
        status, body = 200, b'{"status":"ok"}'
        if path == self.path:
            key, body = self._answer(query)
            self.calls += 1
            if key in self.keys or len(self.keys) < MAX_KEYS:
                self.keys[key] += 1
            if self.delay_seconds > 0:
                await asyncio.sleep(self.delay_seconds)
        elif path == "/__stats":
            body = json.dumps({"calls": self.calls, "keys": self.keys}).encode()
        elif path == "/__delay":
            self.delay_seconds = float(query["ms"][0]) / 1000
        elif path != "/health":
            status, body = 404, b'{"status":"not found"}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stub", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--service", choices=["weather", "joke"], required=True)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    app = Stub(args.service, args.delay_ms / 1000)
    # "auto" picks uvloop and httptools (uvicorn[standard] installs both).
    options: dict[str, Any] = {"loop": "auto", "http": "auto", "lifespan": "off"}
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning", **options
    )


if __name__ == "__main__":
    main()
