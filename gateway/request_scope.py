"""Per-request facts every layer needs, without threading them through every call.

``RequestScope`` (pure ASGI middleware, outermost) gives each HTTP request:

* a **request ID**: the client's ``X-Request-ID`` when it is short and safe, else a fresh
  one; echoed in the response header, forwarded to every upstream call, put in every error;
* a **deadline** (loop time) that bounds all upstream work for the request, so the fan-out
  answers with what is ready instead of hanging; a backstop answers 504 if the app itself
  has not started its response shortly after the deadline. It runs from the moment the
  server parsed the request (``canaduck.protocol``), so time spent waiting for a busy
  event loop counts against it;
* **cancellation on disconnect**: the body is read first (capped, 413 beyond); then the
  server's ``connection_lost`` callback (``canaduck.protocol``), or under another server a
  watcher on ``http.disconnect``, cancels the handler, so a client that gives up also stops
  its upstream calls.

Both values live in ``contextvars``; tasks spawned by ``asyncio.gather`` inherit them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canaduck.problems import problem_body
from canaduck.protocol import ARRIVED_AT_KEY, ON_DISCONNECT_KEY
from gateway.context import _deadline, _request_id

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Set in the scope when the client went away before its answer.
CLIENT_GONE_KEY = "canaduck.client_gone"
# How long past the deadline the app may take to start answering before the backstop does.
BACKSTOP_GRACE_SECONDS = 0.5


class RequestIds:
    """Fresh request IDs: 32 hex digits, a random half drawn once per process (again in a
    forked child) and a counter: unique, which is all an ID for correlating logs and
    errors needs, without a ``getrandom`` system call per request (each 503 under a flood
    carries one)."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count()

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


request_ids = RequestIds()
os.register_at_fork(after_in_child=request_ids.reseed)


def client_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The client's ``X-Request-ID`` when it is short and safe to echo, else None."""
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SAFE_REQUEST_ID.fullmatch(text) else None
    return None


class _TooLarge(Exception):
    pass


class _ClientGone(Exception):
    """The client went away while its body was being read."""


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class RequestScope:
    def __init__(self, app: ASGIApp, *, timeout_seconds: float, max_body_bytes: int) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = client_request_id(scope["headers"]) or request_ids.new()
        # The deadline starts when the server parsed the request (canaduck.protocol), so
        # time queued on a busy event loop counts against it; else when the app sees it.
        arrived_at = scope.get(ARRIVED_AT_KEY) or asyncio.get_running_loop().time()
        deadline = arrived_at + self.timeout_seconds
        rid_token = _request_id.set(rid)
        deadline_token = _deadline.set(deadline)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"
                ]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            try:
                body = await _read_body(receive, self.max_body_bytes)
            except _ClientGone:
                scope[CLIENT_GONE_KEY] = True  # nothing to answer, nothing went wrong
                return
            except _TooLarge:
                await _send_problem(
                    send_with_id,
                    413,
                    "REQUEST_TOO_LARGE",
                    "Request too large",
                    f"The request body exceeds {self.max_body_bytes} bytes.",
                    rid,
                )
                return
            await self._run(scope, body, receive, send_with_id, rid, deadline, lambda: started)
        except asyncio.CancelledError:
            if not client_gone(scope):
                raise
        finally:
            _request_id.reset(rid_token)
            _deadline.reset(deadline_token)

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        rid: str,
        deadline: float,
        response_started: Callable[[], bool],
    ) -> None:
        # The app runs in this very task (a task per request costs more than the rest of
        # this middleware). When the client goes away, it is cancelled: by the server's
        # callback (canaduck.protocol), or else by a watcher task parked on ``receive``. A
        # timeout, lifted once the response has started, is the 504 backstop.
        disconnected = asyncio.Event()
        body_sent = False
        current = asyncio.current_task()
        assert current is not None
        finished = False

        async def replay() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        def on_disconnect() -> None:
            disconnected.set()
            if not finished:
                scope[CLIENT_GONE_KEY] = True
                current.cancel()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            on_disconnect()

        backstop = asyncio.timeout_at(deadline + BACKSTOP_GRACE_SECONDS)

        async def send_and_lift(message: Message) -> None:
            if message["type"] == "http.response.start":
                backstop.reschedule(None)  # answering: let it finish
            await send(message)

        watcher: asyncio.Task[None] | None = None
        if ON_DISCONNECT_KEY in scope:
            scope[ON_DISCONNECT_KEY] = on_disconnect
        else:
            watcher = asyncio.create_task(watch())
        try:
            async with backstop:
                await self.app(scope, replay, send_and_lift)
        except TimeoutError:
            if response_started():
                raise
            await _send_problem(
                send,
                504,
                "GATEWAY_TIMEOUT",
                "Gateway timeout",
                "The request did not complete within its deadline.",
                rid,
            )
        except asyncio.CancelledError:
            if client_gone(scope):
                current.uncancel()  # our own cancellation, handled here
            raise
        finally:
            finished = True
            if watcher is not None:
                watcher.cancel()


def client_gone(scope: Scope) -> bool:
    """Whether the request ended because its client went away (no answer was owed)."""
    return bool(scope.get(CLIENT_GONE_KEY))


async def _send_problem(
    send: Send, status: int, code: str, title: str, detail: str, rid: str
) -> None:
    body = json.dumps(problem_body(status, code, title, detail, requestId=rid)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
