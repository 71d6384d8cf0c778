"""Wiring: ``create_app(settings)`` builds the app; its lifespan owns every resource."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypedDict

import httpx
from fastapi import FastAPI

from canaduck.problems import install_problem_handlers
from weather_service.api import router
from weather_service.cities import Gazetteer
from weather_service.config import WeatherSettings
from weather_service.providers import WeatherProvider, make_provider


class State(TypedDict):
    """What the lifespan hands to requests (``request.state``)."""

    gazetteer: Gazetteer
    provider: WeatherProvider


def create_app(
    settings: WeatherSettings | None = None, *, gazetteer: Gazetteer | None = None
) -> FastAPI:
    """The weather service; ``gazetteer`` lets tests share one index between apps."""
    settings = settings or WeatherSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        places = gazetteer
        if places is None:
            # Indexing takes about a second of CPU; a worker thread keeps the loop responsive.
            places = await asyncio.to_thread(Gazetteer.load, settings.gazetteer_min_population)
        async with AsyncExitStack() as stack:
            http: httpx.AsyncClient | None = None
            if settings.provider == "open-meteo":
                http = await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=settings.open_meteo_url,
                        timeout=settings.provider_timeout_seconds,
                        headers={"User-Agent": "canaduck-weather-service"},
                    )
                )
            yield {"gazetteer": places, "provider": make_provider(settings, http)}

    app = FastAPI(
        title="Canaduck weather service",
        description="Current weather for a city by name, with labels in French or English. "
        "Errors are RFC 9457 problem JSON with a `code` member.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_problem_handlers(app)
    app.include_router(router)
    return app
