"""One line and a few series per HTTP request: the outermost middleware.

``Observe`` sees every answer, including the 413s and 504s the request scope makes itself,
and the request ID that scope put on the response. Deeper layers add to the request's
:class:`~gateway.context.RequestRecord` through a context variable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canaduck.logs import json_line
from gateway.context import RequestRecord, _record
from gateway.observability.metrics import Metrics
from gateway.request_scope import client_gone

log = structlog.get_logger("gateway.request")
_stdlib_logger = logging.getLogger("gateway.request")


def _header(message: Message, name: bytes) -> str | None:
    for key, value in message.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


CLIENT_CLOSED_REQUEST = 499


class Observe:
    """Count, time and log every HTTP request (pure ASGI, outermost)."""

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.clock = clock
        self._paths: frozenset[str] | None = None

    def _route(self, scope: Scope) -> str:
        """The route template, a bounded label ("unmatched" for unknown paths)."""
        route = getattr(scope.get("route"), "path", None)
        if route:
            return str(route)
        # Routes of included routers (Strawberry's among them) leave no "route" in the scope
        # this middleware sees; their paths are fixed, so the OpenAPI paths bound the label.
        if self._paths is None:
            app = scope.get("app")
            self._paths = frozenset(app.openapi()["paths"]) if isinstance(app, FastAPI) else None
        path = str(scope["path"])
        if path.startswith("/static/"):
            return "/static"
        return path if self._paths is not None and path in self._paths else "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        record = RequestRecord()
        token = _record.set(record)
        status = 500  # unless an answer starts
        answered = False
        request_id: str | None = None

        async def observed_send(message: Message) -> None:
            nonlocal status, request_id, answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                request_id = _header(message, b"x-request-id")
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, observed_send)
        finally:
            self.metrics.in_flight.dec()
            _record.reset(token)
            if not answered and client_gone(scope):
                # No answer because the client left first (request_scope): nginx's 499,
                # "client closed request", not a 500 that would page someone.
                status = CLIENT_CLOSED_REQUEST
            seconds = self.clock() - started
            route = self._route(scope)
            self.metrics.requests.labels(route, record.fields or "", str(status)).inc()
            self.metrics.request_seconds.labels(route).observe(seconds)
            line = {
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "request_id": request_id,
                "operation": record.operation,
                "fields": record.fields,
                "upstreams": record.sources or None,
            }
            # structlog runs its processors before the level check: ask first.
            if not json_line(_stdlib_logger, "request", line) and _stdlib_logger.isEnabledFor(
                logging.INFO
            ):
                log.info("request", **line)
