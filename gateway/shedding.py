"""Who gets in: a bound on the requests in flight, and the drain before a shutdown.

``LoadShedder`` (pure ASGI, the outermost middleware) counts the requests being answered.
Past ``GATEWAY_MAX_IN_FLIGHT`` a new one is answered at once, before the request scope,
the body read or any routing, with 503 and ``Retry-After``:

* on ``/graphql``, a GraphQL response: ``{"errors": [{"message": ..., "extensions":
  {"code": "OVERLOADED", "retryable": true, "retryAfterSeconds": 1, "requestId": ...}}]}``;
* anywhere else, problem JSON with the same members.

A fast, honest "busy" instead of a queue: the requests already admitted keep their
latency, and a client (or Traefik's retry) can go elsewhere. What is never counted nor
shed: ``/health``, ``/ready`` and ``/metrics`` (operators and orchestrators must see a busy
gateway as alive, and readiness must say draining, not busy), and long-lived streams
(WebSocket and ``text/event-stream`` subscriptions), which would hold a slot for minutes;
those are bounded by their own limit (``GATEWAY_LIVE_MAX_CONNECTIONS``).

``Drain`` is the shutdown drain's state. The server (``canaduck.cli``) starts it on the
first SIGTERM; from then on ``/ready`` answers 503 so load balancers stop routing here,
every answer says ``Connection: close`` so kept-alive clients reconnect elsewhere, and the
gateway goes on serving for ``seconds`` before uvicorn stops accepting and waits (up to
``grace_seconds``) for what is in flight. See docs/reliability.md.
"""

from __future__ import annotations

import json
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canaduck.problems import problem_body
from gateway.observability.metrics import Metrics
from gateway.request_scope import _client_request_id

# Answered whatever the load: liveness, readiness (which must be able to say "draining")
# and the scrape that shows the shedding.
UNSHED_PATHS = frozenset({"/health", "/ready", "/metrics"})
GRAPHQL_PATH = "/graphql"
DRAIN_STATE_KEY = "drain"  # canaduck.cli.DRAIN_STATE_KEY: where the server looks for it
RETRY_AFTER_SECONDS = 1
OVERLOADED = "OVERLOADED"
_MESSAGE = f"The gateway is at capacity; retry in {RETRY_AFTER_SECONDS} s."
_GRAPHQL_RESPONSE_JSON = b"application/graphql-response+json"


class Drain:
    """The shutdown drain: started once, by the server, on the first SIGTERM."""

    def __init__(self, *, seconds: float, grace_seconds: float) -> None:
        self.seconds = seconds  # keep serving (and failing readiness) this long
        self.grace_seconds = grace_seconds  # then wait this long for requests in flight
        self.started_at: float | None = None

    @property
    def draining(self) -> bool:
        return self.started_at is not None

    def start(self) -> None:
        if self.started_at is None:
            self.started_at = time.monotonic()


def _is_stream(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"text/event-stream" in value
    return False


def _accepts_graphql_response(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return _GRAPHQL_RESPONSE_JSON in value
    return False


class LoadShedder:
    def __init__(self, app: ASGIApp, *, max_in_flight: int, metrics: Metrics, drain: Drain) -> None:
        self.app = app
        self.limit = max_in_flight  # 0: no limit
        self.metrics = metrics
        self.drain = drain
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # WebSocket subscriptions, lifespan
            if scope["type"] == "lifespan" and "state" in scope:
                # Published in the lifespan state: the server finds it there on SIGTERM
                # (canaduck.cli), and every request's state carries it (``/ready``).
                scope["state"][DRAIN_STATE_KEY] = self.drain
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            send = _closing(send)
        if scope["path"] in UNSHED_PATHS or _is_stream(scope):
            await self.app(scope, receive, send)
            return
        if self.limit and self.in_flight >= self.limit:
            await self._shed(scope, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _shed(self, scope: Scope, send: Send) -> None:
        rid = _client_request_id(scope) or uuid.uuid4().hex
        members = {"retryable": True, "retryAfterSeconds": RETRY_AFTER_SECONDS, "requestId": rid}
        if scope["path"] == GRAPHQL_PATH:
            door = "graphql"
            extensions = {"code": OVERLOADED, **members}
            body = {"errors": [{"message": _MESSAGE, "extensions": extensions}]}
            media = (
                _GRAPHQL_RESPONSE_JSON if _accepts_graphql_response(scope) else b"application/json"
            )
        else:
            door = "rest"
            body = problem_body(503, OVERLOADED, "Overloaded", _MESSAGE, **members)
            media = b"application/problem+json"
        self.metrics.shed(door)
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", media),
                    (b"content-length", str(len(payload)).encode()),
                    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                    (b"x-request-id", rid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _closing(send: Send) -> Send:
    """``send`` that asks the client to close its connection after this answer."""

    async def send_closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return send_closing
