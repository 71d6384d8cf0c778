"""Wiring: ``create_app(settings)`` builds the gateway; the lifespan owns the HTTP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from canaduck.problems import install_problem_handlers
from gateway import rest_api
from gateway.config import GatewaySettings
from gateway.dependencies import State
from gateway.errors import Service
from gateway.graphql_api import mount_graphql
from gateway.upstreams import Upstream, Upstreams, make_client

DESCRIPTION = """\
One GraphQL schema over the Canaduck weather and joke services.

* **GraphQL** at `/graphql` (GraphiQL in a browser): `fullinfo(city)` fans out to both
  services concurrently, and each field calls only the service it needs.
* **REST** for legacy scripts: `/weather` and `/joke` pass the services' answers through
  unchanged, `/fullinfo` returns the merged JSON.
"""


def create_app(
    settings: GatewaySettings | None = None,
    *,
    transports: Mapping[Service, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """Build the gateway. ``transports`` replaces the network per upstream (tests only)."""
    settings = settings or GatewaySettings()
    transports = transports or {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:

            async def upstream(service: Service, base_url: str) -> Upstream:
                client = make_client(base_url, settings, transports.get(service))
                await stack.enter_async_context(client)
                return Upstream(
                    service,
                    client,
                    timeout_seconds=settings.upstream_timeout_seconds,
                    max_body_bytes=settings.upstream_max_body_bytes,
                )

            upstreams = Upstreams(
                weather=await upstream("weather", str(settings.weather_url)),
                joke=await upstream("joke", str(settings.joke_url)),
            )
            yield {"settings": settings, "upstreams": upstreams}

    app = FastAPI(
        title="Canaduck gateway", description=DESCRIPTION, version="0.1.0", lifespan=lifespan
    )
    install_problem_handlers(app)
    app.include_router(rest_api.router)
    mount_graphql(app, settings)
    return app
