"""canaduck.protocol: the app's early word on a request, fed raw bytes as uvicorn would.

The protocol is driven the way uvicorn's own protocol tests drive theirs: a transport that
records what is written, ``data_received`` with raw HTTP/1.1 bytes. What a client would
see is what is written to the socket, and whether the connection stays open.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import pytest
from uvicorn.config import Config
from uvicorn.lifespan.off import LifespanOff
from uvicorn.server import ServerState

from canaduck.protocol import (
    ADMISSION_STATE_KEY,
    ADMITTED_KEY,
    ARRIVED_AT_KEY,
    ON_DISCONNECT_KEY,
    AdmittingHttpToolsProtocol,
)

POST = (
    b"POST /graphql HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
    b'X-Request-ID: rid-1\r\nContent-Length: 13\r\n\r\n{"query": 1}\n'
)
GET_HEALTH = b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n"


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        pass


class Refuser:
    """Refuses ``/graphql`` while ``busy``, else gives it a slot; records what it was asked."""

    def __init__(self, refusal_pause_seconds: float = 0.0) -> None:
        self.busy = True
        self.refusal_pause_seconds = refusal_pause_seconds
        self.slots = 0  # taken by admit, minus those given back with release
        self.asked: list[tuple[str, list[tuple[bytes, bytes]]]] = []

    def admit(
        self, path: str, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | bool:
        self.asked.append((path, list(headers)))
        if path != "/graphql":
            return False
        if self.busy:
            return 503, [(b"content-type", b"application/json"), (b"retry-after", b"1")], b"{}"
        self.slots += 1
        return True

    def release(self) -> None:
        self.slots -= 1


class App:
    """An ASGI app answering 200 with the body it read; records each scope."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        scope["canaduck.seen_at"] = asyncio.get_running_loop().time()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ran:" + body})


def connect(
    app: App | Hanging, admission: Refuser | None
) -> tuple[AdmittingHttpToolsProtocol, Transport, ServerState]:
    config = Config(app=app, log_level="warning")
    lifespan = LifespanOff(config)
    if admission is not None:
        lifespan.state[ADMISSION_STATE_KEY] = admission
    state = ServerState()
    protocol = AdmittingHttpToolsProtocol(
        config=config, server_state=state, app_state=lifespan.state
    )
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport, state


async def settle(state: ServerState) -> None:
    for _ in range(100):  # the request tasks, at most ~1 s
        if not state.tasks:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("request tasks still running")


async def test_a_refusal_is_written_at_once_without_a_request_task() -> None:
    app, refuser = App(), Refuser()
    protocol, transport, state = connect(app, refuser)
    protocol.data_received(POST)
    assert not state.tasks  # no task, no scope: the app never ran
    assert app.scopes == []
    head, _, body = transport.written.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 503 Service Unavailable"
    assert b"retry-after: 1" in lines
    assert b"content-length: 2" in lines
    assert b"connection: close" not in lines
    assert body == b"{}"
    assert not transport.closed
    [(path, headers)] = refuser.asked
    assert path == "/graphql"
    assert (b"x-request-id", b"rid-1") in headers


async def test_the_connection_serves_the_next_request_after_a_refused_body() -> None:
    """The refused request's body is skipped, not mistaken for the next request."""
    app, refuser = App(), Refuser()
    protocol, transport, state = connect(app, refuser)
    protocol.data_received(POST)
    refuser.busy = False
    transport.written = b""
    protocol.data_received(POST)
    await settle(state)
    assert transport.written.startswith(b"HTTP/1.1 200 OK")
    assert b'ran:{"query": 1}\n' in transport.written
    assert app.bodies == [b'{"query": 1}\n']


async def test_a_refusal_in_pieces_skips_the_body_that_follows() -> None:
    """Headers in one packet, the body in the next: the body is still skipped."""
    app, refuser = App(), Refuser()
    protocol, transport, state = connect(app, refuser)
    head, body = POST.split(b"\r\n\r\n")
    protocol.data_received(head + b"\r\n\r\n")
    assert transport.written.startswith(b"HTTP/1.1 503")
    protocol.data_received(body)
    protocol.data_received(GET_HEALTH)
    await settle(state)
    assert [scope["path"] for scope in app.scopes] == ["/health"]


async def test_a_client_that_asked_to_close_is_closed_after_its_refusal() -> None:
    app, refuser = App(), Refuser()
    protocol, transport, _ = connect(app, refuser)
    protocol.data_received(POST.replace(b"Host: gw\r\n", b"Host: gw\r\nConnection: close\r\n"))
    assert b"\r\nconnection: close\r\n" in transport.written
    assert transport.closed


async def test_requests_the_app_admits_run_as_uvicorn_runs_them() -> None:
    app, refuser = App(), Refuser()
    protocol, transport, state = connect(app, refuser)
    protocol.data_received(GET_HEALTH)
    await settle(state)
    assert transport.written.startswith(b"HTTP/1.1 200 OK")
    assert [scope["path"] for scope in app.scopes] == ["/health"]


@pytest.mark.parametrize("with_admission", [True, False])
async def test_every_request_carries_its_arrival_time(with_admission: bool) -> None:
    """The arrival is stamped when the headers are parsed, before the task's first turn."""
    app = App()
    protocol, _, state = connect(app, Refuser() if with_admission else None)
    loop = asyncio.get_running_loop()
    before = loop.time()
    protocol.data_received(GET_HEALTH)
    await settle(state)
    [scope] = app.scopes
    assert before <= scope[ARRIVED_AT_KEY] <= scope["canaduck.seen_at"]


async def test_a_pipelined_request_is_not_answered_ahead_of_the_one_before() -> None:
    """Answers go out in request order: a refusal never overtakes a response in progress."""
    app, refuser = App(), Refuser()
    refuser.busy = False
    protocol, transport, state = connect(app, refuser)
    protocol.data_received(GET_HEALTH)  # its task has not run yet: its answer is pending
    refuser.busy = True
    protocol.data_received(POST)
    assert len(refuser.asked) == 1  # the pipelined POST was not put to the early check
    await settle(state)
    assert transport.written.startswith(b"HTTP/1.1 200 OK")


class Hanging:
    """An ASGI app that never answers; registers a disconnect callback in the slot."""

    def __init__(self) -> None:
        self.gone = 0
        self.scopes: list[dict[str, Any]] = []

    def on_disconnect(self) -> None:
        self.gone += 1

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        scope[ON_DISCONNECT_KEY] = self.on_disconnect
        await asyncio.sleep(3600)


async def test_a_client_leaving_mid_request_calls_the_app_back_once() -> None:
    app = Hanging()
    protocol, _, state = connect(app, None)
    protocol.data_received(GET_HEALTH)
    await asyncio.sleep(0)  # the request task's first step: the callback is in the slot
    assert app.scopes
    protocol.connection_lost(None)
    assert app.gone == 1
    for task in state.tasks:
        task.cancel()


async def test_a_client_leaving_after_its_answer_calls_nobody() -> None:
    app, refuser = App(), Refuser()
    protocol, _, state = connect(app, refuser)
    calls: list[str] = []
    protocol.data_received(GET_HEALTH)
    await settle(state)
    app.scopes[0][ON_DISCONNECT_KEY] = lambda: calls.append("gone")
    protocol.connection_lost(None)
    assert calls == []


class Slow(App):
    """Answers after 0.3 s: long enough for a stray keep-alive timer of 0.1 s to fire."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.3)
        await super().__call__(scope, receive, send)


def connect_with(
    app: App, admission: Refuser | None, **config: Any
) -> tuple[AdmittingHttpToolsProtocol, Transport, ServerState]:
    protocol, transport, state = connect(app, admission)
    protocol.timeout_keep_alive = config.get("timeout_keep_alive", protocol.timeout_keep_alive)
    return protocol, transport, state


async def test_two_refusals_in_one_segment_leave_no_stray_idle_timer() -> None:
    """A request that follows two refusals sent together is answered, not cut by a timer
    armed for the connection's idle time while it was busy."""
    app, refuser = Slow(), Refuser()
    protocol, transport, state = connect_with(app, refuser, timeout_keep_alive=0.1)
    protocol.data_received(POST + POST)
    await asyncio.sleep(0.05)
    refuser.busy = False
    protocol.data_received(GET_HEALTH)
    await settle(state)
    assert not transport.closed
    assert transport.written.count(b"HTTP/1.1 503") == 2
    assert transport.written.endswith(b"0\r\n\r\n")  # the slow answer, whole
    await asyncio.sleep(0.15)
    assert transport.closed  # and idle afterwards: closed by the one timer left


async def test_a_refused_head_request_gets_no_body() -> None:
    app, refuser = App(), Refuser()
    protocol, transport, _ = connect(app, refuser)
    protocol.data_received(b"HEAD /graphql HTTP/1.1\r\nHost: gw\r\n\r\n")
    head, _, body = transport.written.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503")
    assert b"content-length: 2" in head.split(b"\r\n")
    assert body == b""


async def test_a_client_that_does_not_read_is_not_refused_early() -> None:
    """With the socket's write buffer full, refusals would pile up in memory: the request
    goes uvicorn's way instead, which waits for the client to read."""
    app, refuser = App(), Refuser()
    protocol, transport, state = connect(app, refuser)
    protocol.pause_writing()
    protocol.data_received(POST)
    assert refuser.asked == []
    assert transport.written == b""
    protocol.resume_writing()
    await settle(state)


async def test_a_refused_request_that_expects_100_continue_is_closed() -> None:
    """Its body may never come: it learns it is not wanted, and the connection ends."""
    app, refuser = App(), Refuser()
    protocol, transport, _ = connect(app, refuser)
    head = POST.split(b"\r\n\r\n")[0].replace(b"Host: gw", b"Host: gw\r\nExpect: 100-continue")
    protocol.data_received(head + b"\r\n\r\n")
    assert transport.written.startswith(b"HTTP/1.1 503")
    assert b"\r\nconnection: close\r\n" in transport.written
    assert transport.closed


async def test_a_refused_body_that_never_comes_does_not_hold_the_connection() -> None:
    app, refuser = App(), Refuser()
    protocol, transport, _ = connect_with(app, refuser, timeout_keep_alive=0.05)
    protocol.data_received(POST.split(b"\r\n\r\n")[0] + b"\r\n\r\n")  # headers only
    assert transport.written.startswith(b"HTTP/1.1 503")
    await asyncio.sleep(0.2)
    assert transport.closed


async def test_a_failing_admission_check_lets_the_request_through() -> None:
    class Broken(Refuser):
        def admit(self, path: str, headers: list[tuple[bytes, bytes]]) -> bool:
            raise RuntimeError("bug")

    app = App()
    protocol, transport, state = connect(app, Broken())
    protocol.data_received(GET_HEALTH)
    await settle(state)
    assert transport.written.startswith(b"HTTP/1.1 200 OK")


async def test_the_scope_says_whether_the_early_check_gave_the_request_a_slot() -> None:
    """The app frees a slot taken here when the request ends; one not taken, it counts."""
    app, refuser = App(), Refuser()
    refuser.busy = False
    protocol, _, state = connect(app, refuser)
    protocol.data_received(POST)
    await settle(state)
    protocol.data_received(GET_HEALTH)
    await settle(state)
    assert [(s["path"], s[ADMITTED_KEY]) for s in app.scopes] == [
        ("/graphql", True),
        ("/health", False),
    ]


async def test_a_refused_connection_is_read_again_only_after_the_pause() -> None:
    """A client that resends the moment it gets its 503 is refused at most once per pause
    per connection: the refusals it can make the gateway write are bounded."""
    app, refuser = App(), Refuser(refusal_pause_seconds=0.2)
    protocol, transport, _ = connect(app, refuser)
    loop = asyncio.get_running_loop()
    refused_at = loop.time()
    protocol.data_received(POST)
    assert transport.written.startswith(b"HTTP/1.1 503")
    assert not transport.reading
    for _ in range(100):  # at most ~1 s
        if transport.reading:
            break
        await asyncio.sleep(0.01)
    assert transport.reading
    assert loop.time() - refused_at >= 0.2 - _SLACK


_SLACK = 0.005  # the pacer resumes connections due within 2 ms of each other together


async def test_connections_refused_together_are_read_again_together() -> None:
    app, refuser = App(), Refuser(refusal_pause_seconds=0.1)
    pairs = [connect(app, refuser)[:2] for _ in range(3)]
    for protocol, _ in pairs:
        protocol.data_received(POST)
    assert not any(transport.reading for _, transport in pairs)
    await asyncio.sleep(0.3)
    assert all(transport.reading for _, transport in pairs)


async def test_no_pause_without_a_setting_nor_for_a_connection_that_closes() -> None:
    app = App()
    protocol, transport, _ = connect(app, Refuser(refusal_pause_seconds=0.0))
    protocol.data_received(POST)
    assert transport.written.startswith(b"HTTP/1.1 503")
    assert transport.reading

    protocol, transport, _ = connect(app, Refuser(refusal_pause_seconds=0.1))
    protocol.data_received(POST.replace(b"Host: gw\r\n", b"Host: gw\r\nConnection: close\r\n"))
    assert transport.closed
    assert transport.reading  # closed at once, not paused


async def test_a_connection_closed_during_its_pause_is_not_read_again() -> None:
    app, refuser = App(), Refuser(refusal_pause_seconds=0.05)
    protocol, transport, _ = connect(app, refuser)
    protocol.data_received(POST)
    transport.close()
    await asyncio.sleep(0.2)
    assert not transport.reading


async def test_a_slot_is_given_back_when_its_request_cannot_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If uvicorn fails to start a request the early check let in (no URL found that does
    it: its parser rejects first; so the failure is made here), the slot is given back."""

    def unparsable(url: bytes) -> None:
        raise ValueError("no")

    monkeypatch.setattr(httptools, "parse_url", unparsable)  # the module uvicorn calls
    app, refuser = App(), Refuser()
    refuser.busy = False
    protocol, transport, state = connect(app, refuser)
    protocol.data_received(POST)
    await settle(state)
    assert transport.written.startswith(b"HTTP/1.1 400")  # uvicorn's answer to that
    assert app.scopes == []
    assert refuser.slots == 0
