"""Who gets in: a bound on the requests in flight, and the drain before a shutdown.

``LoadShedder`` (pure ASGI, the outermost middleware) counts the requests being answered.
Past the limit (``AdaptiveLimit``: at most ``GATEWAY_MAX_IN_FLIGHT``, lowered while the
event loop lags, see its docstring) a new one is answered at once, before the request
scope, the body read or any routing, with 503 and ``Retry-After``; under
``python -m gateway`` most are answered even before uvicorn makes the request a task
(``admit``, asked by ``canaduck.protocol`` from the HTTP parser, which then reads the
refused connection's next request only ``GATEWAY_SHED_PAUSE_SECONDS`` later):

* on ``/graphql``, a GraphQL response: ``{"errors": [{"message": ..., "extensions":
  {"code": "OVERLOADED", "retryable": true, "retryAfterSeconds": 1, "requestId": ...}}]}``;
* anywhere else, problem JSON with the same members.

A fast, honest "busy" instead of a queue: the requests already admitted keep their
latency, and a client knows at once to come back later (``Retry-After``). What is never counted nor
shed: ``/health``, ``/ready`` and ``/metrics`` (operators and orchestrators must see a busy
gateway as alive, and readiness must say draining, not busy), and long-lived streams
(WebSocket and ``text/event-stream`` subscriptions), which would hold a slot for minutes;
those are bounded by their own limit (``GATEWAY_LIVE_MAX_CONNECTIONS``).

``Drain`` is the shutdown drain's state. The server (``canaduck.server``) starts it on the
first SIGTERM; from then on ``/ready`` answers 503 so load balancers stop routing here,
every answer says ``Connection: close`` so kept-alive clients reconnect elsewhere, and the
gateway goes on serving for ``seconds`` before uvicorn stops accepting and waits (up to
``grace_seconds``) for what is in flight. See docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canaduck.problems import problem_body
from canaduck.protocol import ADMISSION_STATE_KEY, ADMITTED_KEY, Answer, Headers
from gateway.observability.metrics import Metrics
from gateway.request_scope import client_request_id, request_ids

# Answered whatever the load: liveness, readiness (which must be able to say "draining")
# and the scrape that shows the shedding.
UNSHED_PATHS = frozenset({"/health", "/ready", "/metrics"})
GRAPHQL_PATH = "/graphql"
DRAIN_STATE_KEY = "drain"  # canaduck.server.DRAIN_STATE_KEY: where the server looks for it
RETRY_AFTER_SECONDS = 1
OVERLOADED = "OVERLOADED"
_MESSAGE = f"The gateway is at capacity; retry in {RETRY_AFTER_SECONDS} s."
_GRAPHQL_RESPONSE_JSON = b"application/graphql-response+json"
_JSON = b"application/json"
_STREAM = b"text/event-stream"
_PROBLEM_JSON = b"application/problem+json"


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


def _header(headers: Headers, wanted: bytes) -> bytes:
    for name, value in headers:
        if name == wanted:
            return value
    return b""


class AdaptiveLimit:
    """The in-flight limit, between ``floor`` and ``ceiling``, steered by event-loop lag.

    The gateway is one event loop: when it has more work than CPU, every callback waits
    longer for its turn, and that wait (the lag of a 10 ms sleep) is the overload signal
    (as in fastify's under-pressure or toobusy-js). Slow upstreams cost no CPU and add no
    lag, so they do not lower the limit the way a latency-based limiter would. AIMD, as in
    Netflix's concurrency-limits: each sample over ``max_lag_seconds`` takes 10 % off the
    limit, each sample under it adds one request back. ``max_lag_seconds`` 0: a fixed cap
    (the default: measured better under a flood, see docs/reliability.md), the lag still
    sampled for ``canaduck_event_loop_lag_seconds``.
    """

    SAMPLE_SECONDS = 0.01
    DECREASE = 0.9
    INCREASE = 1.0

    def __init__(self, *, ceiling: int, floor: int, max_lag_seconds: float) -> None:
        self.ceiling = ceiling
        self.floor = min(floor, ceiling)
        self.max_lag_seconds = max_lag_seconds
        self.value = float(ceiling)
        self.lag_seconds = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def current(self) -> int:
        return int(self.value)

    def observe(self, lag_seconds: float) -> None:
        self.lag_seconds = lag_seconds
        if not self.max_lag_seconds:
            return  # a fixed cap: the lag is only reported
        if lag_seconds > self.max_lag_seconds:
            self.value = max(float(self.floor), self.value * self.DECREASE)
        else:
            self.value = min(float(self.ceiling), self.value + self.INCREASE)

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.SAMPLE_SECONDS)
            self.observe(time.perf_counter() - before - self.SAMPLE_SECONDS)

    def start(self) -> None:
        if self._task is None:  # the lag is reported whether or not it steers the limit
            self._task = asyncio.create_task(self._watch(), name="canaduck.shedding.lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class LoadShedder:
    """The in-flight bound, checked before uvicorn makes the request a task (``admit``,
    called by ``canaduck.protocol``, where a refusal is cheapest, and where the slot is
    taken) or, for a request that did not go through that check (a pipelined one, any
    server without that protocol), as the outermost middleware (``__call__``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: AdaptiveLimit,
        metrics: Metrics,
        drain: Drain,
        refusal_pause_seconds: float = 0.0,
    ) -> None:
        self.app = app
        self.limit = limit  # ceiling 0: no limit
        self.metrics = metrics
        self.drain = drain
        self.refusal_pause_seconds = refusal_pause_seconds  # canaduck.protocol reads it
        self.in_flight = 0

    def admit(self, path: str, headers: Headers) -> Answer | bool:
        """``canaduck.protocol.Admission``: the 503 for a request that must not start, or
        whether it took a slot here (True: ``__call__`` frees it when the request ends).
        Counting here, not only once the request's task runs, matters when a slot frees
        while many requests wait on the loop: they all arrive in one pass, before any of
        their tasks has started, and all but one would get through to the middleware's
        refusal, which costs a task and an ASGI response each."""
        if (
            not self.limit.ceiling
            or self.drain.draining  # every answer must then say Connection: close
            or path in UNSHED_PATHS
            or not path.startswith("/")
            or "%" in path  # left to the app, which decodes it
        ):
            return False
        accept = _header(headers, b"accept")
        if _STREAM in accept:
            return False
        if self.in_flight < self.limit.current:
            self.in_flight += 1
            return True
        return self._overloaded(path, headers, accept)

    def release(self) -> None:
        """``canaduck.protocol.Admission``: a request ``admit`` let in will not run."""
        self.in_flight -= 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # WebSocket subscriptions, lifespan
            if scope["type"] == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if self.drain.draining:
            send = _closing(send)
        if not scope.get(ADMITTED_KEY):  # else its slot was taken in ``admit``
            accept = _header(scope["headers"], b"accept")
            if scope["path"] in UNSHED_PATHS or _STREAM in accept:
                await self.app(scope, receive, send)
                return
            if self.limit.ceiling and self.in_flight >= self.limit.current:
                status, headers, body = self._overloaded(scope["path"], scope["headers"], accept)
                headers = [*headers, (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "state" in scope:
            # Published in the lifespan state, where the server finds them: the drain on
            # SIGTERM (canaduck.server; every request's state carries it too, for
            # ``/ready``), the early check for each request (canaduck.protocol).
            scope["state"][DRAIN_STATE_KEY] = self.drain
            scope["state"][ADMISSION_STATE_KEY] = self

        async def receive_and_watch() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.limit.start()
            elif message["type"] == "lifespan.shutdown":
                await self.limit.stop()
            return message

        await self.app(scope, receive_and_watch, send)

    def _overloaded(self, path: str, headers: Headers, accept: bytes) -> Answer:
        # Cheap on purpose: under overload most of the traffic is answered here. The bodies
        # are encoded once; only the request ID (a safe token, no escaping) changes.
        rid = (client_request_id(headers) or request_ids.new()).encode()
        if path == GRAPHQL_PATH:
            self.metrics.shed("graphql")
            media = _GRAPHQL_RESPONSE_JSON if _GRAPHQL_RESPONSE_JSON in accept else _JSON
            body = _GRAPHQL_BODY[0] + rid + _GRAPHQL_BODY[1]
        else:
            self.metrics.shed("rest")
            media = _PROBLEM_JSON
            body = _PROBLEM_BODY[0] + rid + _PROBLEM_BODY[1]
        answer_headers = [
            (b"content-type", media),
            (b"retry-after", _RETRY_AFTER),
            (b"x-request-id", rid),
        ]
        return 503, answer_headers, body


def _split_at_request_id(body: dict[str, Any]) -> tuple[bytes, bytes]:
    """``body`` as JSON, cut where its ``requestId`` value goes."""
    head, tail = json.dumps(body).encode().split(_RID_MARK.encode())
    return head, tail


_RID_MARK = "@request-id@"
_MEMBERS = {"retryable": True, "retryAfterSeconds": RETRY_AFTER_SECONDS, "requestId": _RID_MARK}
_RETRY_AFTER = str(RETRY_AFTER_SECONDS).encode()
_GRAPHQL_BODY = _split_at_request_id(
    {"errors": [{"message": _MESSAGE, "extensions": {"code": OVERLOADED, **_MEMBERS}}]}
)
_PROBLEM_BODY = _split_at_request_id(
    problem_body(503, OVERLOADED, "Overloaded", _MESSAGE, **_MEMBERS)
)


def _closing(send: Send) -> Send:
    """``send`` that asks the client to close its connection after this answer."""

    async def send_closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return send_closing
