from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.config import GatewaySettings
from gateway.main import create_app
from tests.support.fake_upstreams import FakeUpstream


@pytest.fixture
def weather() -> FakeUpstream:
    return FakeUpstream("weather")


@pytest.fixture
def joke() -> FakeUpstream:
    return FakeUpstream("joke")


@pytest.fixture
def settings() -> GatewaySettings:
    """Short deadlines; retries off so upstream call counts are exact."""
    return GatewaySettings(
        upstream_timeout_seconds=0.5, request_timeout_seconds=1.0, upstream_retries=0
    )


@asynccontextmanager
async def serve(
    settings: GatewaySettings, weather: FakeUpstream, joke: FakeUpstream
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to an in-process gateway whose upstreams are the fakes."""
    app = create_app(settings, transports={"weather": weather.transport, "joke": joke.transport})
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as client,
    ):
        yield client


@pytest.fixture
async def gateway(
    weather: FakeUpstream, joke: FakeUpstream, settings: GatewaySettings
) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings, weather, joke) as client:
        yield client


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, object] | None = None
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
