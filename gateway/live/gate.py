"""The door of long-lived GraphQL connections: WebSocket and Server-Sent Events on /graphql.

``LiveGate`` (pure ASGI) counts them against ``GATEWAY_LIVE_MAX_CONNECTIONS`` (the
shedding limits of plain requests do not apply to them: they are accounted here, apart)
and refuses the one over the limit with a reason a client can show:

* WebSocket: accepted, then closed at once with 1013 (try again later) and the reason;
* SSE: ``503`` problem JSON ``TOO_MANY_LIVE_CONNECTIONS`` with ``Retry-After``.

Each admitted connection gets a :class:`LiveConnection` in a context variable: the
subscription resolvers find the hub through it, and can ``abort`` the connection (a slow
consumer): a WebSocket gets a close frame with the code and reason; an SSE response is
ended (cancelled) where it stands, as the client is not reading it anyway.

When the shutdown drain starts (``gateway.shedding.Drain``, in the lifespan state), every
live connection is ended, and any opened later too: WebSocket with 1012 (service restart),
SSE by ending the stream. Screens reconnect at once, to a replica that is not leaving,
instead of holding this one until the drain's grace runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canaduck.problems import problem_body
from gateway.live.hub import LiveHub

logger = logging.getLogger("gateway.live")

GRAPHQL_PATH = "/graphql"
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013
DRAIN_CHECK_SECONDS = 0.5
RESTARTING = "The gateway is restarting; reconnect (another replica will answer)."
CLOSE_SEND_TIMEOUT_SECONDS = 1.0
TRANSPORT_WS = "graphql-transport-ws"

Kind = Literal["websocket", "sse"]


@dataclass(eq=False)
class LiveConnection:
    kind: Kind
    hub: LiveHub
    task: asyncio.Task[None] | None = None
    send: Send | None = None
    closed_reason: str | None = field(default=None)

    def abort(self, code: int, reason: str, *, why: str = "slow_consumer") -> None:
        """Close this connection from outside its own task (it may be stuck writing)."""
        if self.closed_reason is not None or self.task is None:
            return
        self.closed_reason = reason
        logger.warning("live.connection.dropped kind=%s code=%d reason=%s", self.kind, code, reason)
        self.hub.metrics.dropped.labels(why).inc()
        asyncio.get_running_loop().create_task(self._abort(code, reason))

    async def _abort(self, code: int, reason: str) -> None:
        if self.kind == "websocket" and self.send is not None:
            # Best effort: a peer that reads nothing may never take the close frame.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_SEND_TIMEOUT_SECONDS):
                    await self.send({"type": "websocket.close", "code": code, "reason": reason})
        if self.task is not None:
            self.task.cancel()


_connection: ContextVar[LiveConnection | None] = ContextVar("live_connection", default=None)


def current_connection() -> LiveConnection | None:
    return _connection.get()


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def is_event_stream(scope: Scope) -> bool:
    accept = _header(scope, b"accept")
    return any(part.split(";", 1)[0].strip() == "text/event-stream" for part in accept.split(","))


class LiveGate:
    def __init__(self, app: ASGIApp, *, hub: LiveHub, max_connections: int) -> None:
        self.app = app
        self.hub = hub
        self.max_connections = max_connections
        self.open = 0
        self.refused = 0
        self.connections: set[LiveConnection] = set()
        self._drain_watch: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind: Kind | None = None
        if scope["type"] in ("websocket", "http") and scope["path"] == GRAPHQL_PATH:
            if scope["type"] == "websocket":
                kind = "websocket"
            elif is_event_stream(scope):
                kind = "sse"
        if kind is None:
            await self.app(scope, receive, send)
            return
        if self.open >= self.max_connections:
            self.refused += 1
            logger.warning("live.connection.refused kind=%s open=%d", kind, self.open)
            self.hub.metrics.dropped.labels("limit").inc()
            await self._refuse(kind, scope, receive, send)
            return
        self._watch(scope)
        connection = LiveConnection(kind, self.hub, send=send)
        token = _connection.set(connection)
        self.connections.add(connection)
        self.open += 1
        self.hub.metrics.connections.inc()
        try:

            async def run() -> None:
                await self.app(scope, receive, send)

            connection.task = asyncio.create_task(run())
            with contextlib.suppress(asyncio.CancelledError):
                await connection.task
            if connection.closed_reason is None and connection.task.cancelled():
                raise asyncio.CancelledError  # we were cancelled, not aborted
        finally:
            if connection.task is not None and not connection.task.done():
                connection.task.cancel()
            self.connections.discard(connection)
            self.open -= 1
            self.hub.metrics.connections.dec()
            _connection.reset(token)

    def _watch(self, scope: Scope) -> None:
        """Start watching the shutdown drain (once; the lifespan state holds it)."""
        drain = (scope.get("state") or {}).get("drain")
        if drain is None or self._drain_watch is not None:
            return
        self._drain_watch = asyncio.get_running_loop().create_task(
            self._end_on_drain(drain), name="live.drain", context=contextvars.Context()
        )

    async def _end_on_drain(self, drain: object) -> None:
        while True:
            await asyncio.sleep(DRAIN_CHECK_SECONDS)
            if getattr(drain, "draining", False):
                for connection in list(self.connections):
                    connection.abort(CLOSE_SERVICE_RESTART, RESTARTING, why="draining")

    def reason(self) -> str:
        return (
            f"Too many live connections (limit {self.max_connections} per gateway); "
            "try again later."
        )

    async def _refuse(self, kind: Kind, scope: Scope, receive: Receive, send: Send) -> None:
        if kind == "websocket":
            message: Message = await receive()
            if message["type"] != "websocket.connect":
                return
            offered = [str(p) for p in scope.get("subprotocols", ())]
            accept: Message = {"type": "websocket.accept"}
            if TRANSPORT_WS in offered:
                accept["subprotocol"] = TRANSPORT_WS
            await send(accept)
            await send(
                {"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER, "reason": self.reason()}
            )
            return
        body = json.dumps(
            problem_body(
                503, "TOO_MANY_LIVE_CONNECTIONS", "Too many live connections", self.reason()
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"5"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
