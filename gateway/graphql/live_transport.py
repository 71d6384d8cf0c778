"""The subscription transports of ``/graphql``, with the gateway's bounds.

* graphql-transport-ws (WebSocket): the server pings every ``GATEWAY_LIVE_PING_SECONDS``
  (a client answers with a pong, as the protocol asks); a connection from which nothing
  has been heard for ``GATEWAY_LIVE_IDLE_TIMEOUT_SECONDS`` is closed (4000, with the
  reason); the subscription over ``GATEWAY_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION`` gets
  an ``error`` message coded ``TOO_MANY_SUBSCRIPTIONS`` (the others carry on).
* GraphQL over SSE, "distinct connections" mode: one subscription per request, a
  heartbeat comment every ``GATEWAY_LIVE_PING_SECONDS``.

The settings come from the connection ``gateway.live.gate`` admitted (its hub's), so the
router needs no settings of its own. The legacy ``graphql-ws`` protocol is not offered.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from strawberry.http.streaming import SSETransport
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)

from gateway.config import GatewaySettings
from gateway.live.gate import current_connection

SUBSCRIPTION_PROTOCOLS = (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL)

# Close codes (application range, RFC 6455 section 7.4.2); the reason says what happened.
CLOSE_IDLE = 4000
CLOSE_SLOW_CONSUMER = 4001

_DEFAULTS = GatewaySettings.model_construct()


def _settings() -> GatewaySettings:
    connection = current_connection()
    return connection.hub.settings if connection is not None else _DEFAULTS


class LiveTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with a keep-alive, an idle timeout and a coded limit error."""

    async def handle(self) -> None:
        settings = _settings()
        self.ping_seconds = settings.live_ping_seconds
        self.idle_timeout_seconds = settings.live_idle_timeout_seconds
        self.max_operations = settings.live_max_subscriptions_per_connection
        self.last_heard = asyncio.get_running_loop().time()
        keeper = asyncio.create_task(self._keep_alive())
        try:
            await super().handle()
        finally:
            keeper.cancel()

    async def handle_message(self, message: Message) -> None:
        self.last_heard = asyncio.get_running_loop().time()
        await super().handle_message(message)

    async def _keep_alive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(self.ping_seconds, self.idle_timeout_seconds / 2))
            if loop.time() - self.last_heard > self.idle_timeout_seconds:
                reason = f"Idle timeout: nothing received for {self.idle_timeout_seconds:g} s"
                await self.websocket.close(code=CLOSE_IDLE, reason=reason)
                return
            if self.connection_acknowledged:
                await self.send_message({"type": "ping"})

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and len(self.operations) >= self.max_operations
        ):
            error = {
                "message": f"Too many subscriptions on this connection (limit "
                f"{self.max_operations}); complete one before starting another.",
                "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS", "limit": self.max_operations},
            }
            await self.send_message(
                cast(Message, {"id": message["id"], "type": "error", "payload": [error]})
            )
            return
        await super().handle_subscribe(message)


class LiveSSETransport(SSETransport):
    """Strawberry's SSE transport, with the heartbeat of the live settings."""

    @property
    def heartbeat_interval(self) -> float:
        return _settings().live_ping_seconds

    @heartbeat_interval.setter
    def heartbeat_interval(self, value: float) -> None:
        pass  # set by SSETransport.__init__; the live settings decide


STREAM_TRANSPORTS = {GRAPHQL_SSE_PROTOCOL: LiveSSETransport}
