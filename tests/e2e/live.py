"""Helpers for the subscription tests: a gateway with fast live settings, and clients."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests.support.processes import ServiceProcess, StubProcess, gateway_env, running

REFRESH_SECONDS = 1.0
# Short live settings: polls every second, through a cache that expires in between (so
# each poll reaches the stub), and a keep-alive a test can wait out.
LIVE_SETTINGS: dict[str, object] = {
    "live_refresh_seconds": REFRESH_SECONDS,
    "cache_weather_ttl_seconds": 0.5,
    "live_linger_seconds": 0.5,
    "upstream_retries": 0,
}

WEATHER = 'subscription { weather(city: "%s") { city temperature } }'


def live_gateway(
    weather: StubProcess,
    joke: StubProcess,
    *,
    extra_env: dict[str, str] | None = None,
    **settings: object,
) -> AbstractContextManager[ServiceProcess]:
    env = gateway_env(weather, joke, **{**LIVE_SETTINGS, **settings})
    return running("gateway", env={**env, **(extra_env or {})})


def ws_url(gateway: ServiceProcess) -> str:
    return gateway.url.replace("http://", "ws://") + "/graphql"


@dataclass
class Received:
    """What one subscriber got: (arrival time, payload) for each event."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for(self, count: int) -> None:
        """Until ``count`` events have arrived."""
        async with self.arrived:
            await self.arrived.wait_for(lambda: len(self.events) >= count)

    def temperatures(self) -> list[float | None]:
        return [
            (payload.get("data") or {}).get("weather", {}).get("temperature")
            if (payload.get("data") or {}).get("weather")
            else None
            for _, payload in self.events
        ]


async def follow(url: str, query: str, received: Received) -> None:
    """Subscribe with gql's WebSocket transport (graphql-transport-ws) until cancelled."""
    transport = WebsocketsTransport(url=url, ping_interval=None)
    async with Client(transport=transport) as session:
        async for result in session.subscribe(gql(query), get_execution_result=True):
            payload: dict[str, Any] = {"data": result.data}
            if result.errors:
                payload["errors"] = result.errors
            if result.extensions:
                payload["extensions"] = result.extensions
            async with received.arrived:
                received.events.append((time.monotonic(), payload))
                received.arrived.notify_all()
            received.ready.set()


@asynccontextmanager
async def subscribers(url: str, query: str, count: int) -> AsyncIterator[list[Received]]:
    """``count`` WebSocket subscribers, each with its own connection, all past their first
    event when the block starts."""
    inboxes = [Received() for _ in range(count)]
    tasks = [asyncio.create_task(follow(url, query, inbox)) for inbox in inboxes]
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(inbox.ready.wait() for inbox in inboxes))
        yield inboxes
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def sse_events(
    client: httpx.AsyncClient,
    url: str,
    query: str,
    wanted: int,
    events: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The first ``wanted`` ``next`` events of a GraphQL-over-SSE subscription (collected
    into ``events`` as they come, when given)."""
    events = [] if events is None else events
    async with client.stream(
        "POST",
        url,
        json={"query": query},
        headers={"Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:") and kind == "next":
                events.append(json.loads(line.removeprefix("data:")))
                if len(events) >= wanted:
                    break
    return events
