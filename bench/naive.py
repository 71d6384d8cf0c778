"""The seed's naive aggregator, the baseline the gateway must beat: Flask + ``requests``.

    WEATHER_URL=... JOKE_URL=... gunicorn -w 1 -k gthread --threads 50 'bench.naive:create_app()'

As the course text writes it: two ``requests.get`` calls one after the other (so a request
pays the *sum* of both upstream latencies), errors turned into ``null`` parts, one JSON
answer. The bench serves it with gunicorn, one worker and as many threads as clients, its
strongest fair setting for an I/O-bound app on one core.
"""

from __future__ import annotations

import os
from typing import Any

import requests
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

TIMEOUT_SECONDS = 5.0


def _get_json(url: str, params: dict[str, str]) -> Any:
    try:
        response = requests.get(url, params=params, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError):
        return None


def create_app() -> Flask:
    weather_url = os.environ.get("WEATHER_URL", "http://127.0.0.1:8001")
    joke_url = os.environ.get("JOKE_URL", "http://127.0.0.1:8002")
    app = Flask(__name__)

    @app.get("/fullinfo")
    def fullinfo() -> ResponseReturnValue:
        city = request.args.get("city", "")
        weather = _get_json(f"{weather_url}/weather", {"city": city})
        joke = _get_json(f"{joke_url}/joke", {})
        if weather is None and joke is None:
            return jsonify(error="both services failed"), 502
        return jsonify(city=city, weather=weather, joke=joke["joke"] if joke else None)

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return jsonify(status="ok")

    return app
