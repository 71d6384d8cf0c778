"""In-process weather service apps for the tests, over one shared gazetteer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from weather_service.api import get_provider
from weather_service.cities import Gazetteer
from weather_service.config import WeatherSettings
from weather_service.main import create_app
from weather_service.providers import SimulatedProvider, WeatherProvider

RECORDINGS = Path(__file__).parent / "recordings"
OPEN_METEO_URL = "https://api.open-meteo.com"
# 13:17 UTC: 14:00 in Rodez (UTC+1 in November), 13:00 in Timbuktu (UTC).
FIXED_NOW = datetime(2026, 11, 28, 13, 17, tzinfo=UTC)


def recording(name: str) -> dict[str, Any]:
    """A recorded Open-Meteo answer from ``recordings/``."""
    body: dict[str, Any] = json.loads((RECORDINGS / name).read_text(encoding="utf-8"))
    return body


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    """One index for the whole session: building it takes about a second."""
    return Gazetteer.load()


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client talking to ``app`` in-process, with its lifespan running."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://weather.test"
        ) as client,
    ):
        yield client


def use_provider(app: FastAPI, provider: WeatherProvider) -> None:
    """Make ``app`` answer from ``provider`` instead of the one its settings name."""

    async def override() -> WeatherProvider:
        return provider

    app.dependency_overrides[get_provider] = override


@pytest.fixture
def simulated_app(gazetteer: Gazetteer) -> FastAPI:
    """The default (simulated) service, with its clock stopped at FIXED_NOW."""
    app = create_app(WeatherSettings(provider="simulated"), gazetteer=gazetteer)
    use_provider(app, SimulatedProvider(now=lambda: FIXED_NOW))
    return app


@pytest.fixture
async def client(simulated_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(simulated_app) as http:
        yield http


@pytest.fixture
def open_meteo_app(gazetteer: Gazetteer) -> FastAPI:
    """The service configured for Open-Meteo, with a short deadline for timeout tests."""
    settings = WeatherSettings(
        provider="open-meteo", open_meteo_url=OPEN_METEO_URL, provider_timeout_seconds=0.5
    )
    return create_app(settings, gazetteer=gazetteer)


@pytest.fixture
async def open_meteo(
    open_meteo_app: FastAPI, respx_mock: respx.MockRouter
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the Open-Meteo-backed service; routes the test adds to ``respx_mock``
    answer in place of Open-Meteo, and any other outgoing request fails the test."""
    async with serve(open_meteo_app) as http:
        yield http
