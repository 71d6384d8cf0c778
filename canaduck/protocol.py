"""uvicorn's HTTP protocol, with a word from the app before each request gets a task.

uvicorn turns every request into an ASGI scope, a ``RequestResponseCycle`` and an asyncio
task before the app sees it (``HttpToolsProtocol.on_headers_complete``). Under a flood,
that is most of what a refusal costs: measured on the bench machine, about 100 µs of
the gateway's one core per 503, so at 16x its saturating concurrency the refusals ate
half the core and waited behind each other for their turn on the loop.

``AdmittingHttpToolsProtocol`` asks the app first. An app opts in by putting an object
with an ``admit(path, headers)`` method in its lifespan state under ``"admission"`` (the
gateway: ``gateway.shedding.LoadShedder``). When ``admit`` returns an answer (status,
headers, body), the protocol writes it straight to the socket from the parser callback,
skips the request's body, and the connection stays open for the next request: no scope,
no task, no middleware. Otherwise the request goes on as uvicorn would run it, and its
scope says under ``"canaduck.admitted"`` whether ``admit`` gave it one of the app's slots
(the app frees it when the request ends). Counting at this point matters: the requests
that arrive in one pass of the loop are all checked before any of their tasks runs.

A client that resends the moment it is refused (no backoff, ``Retry-After`` ignored) would
make the gateway write refusals as fast as the client can read them: at 16x the saturating
concurrency, tens of thousands a second, and every admitted request then waits behind
them for its turns on the loop. So after a refusal the connection is not read again for
the app's ``refusal_pause_seconds`` (``GATEWAY_SHED_PAUSE_SECONDS``): its next request
waits in the socket, costing nothing, and each connection gets at most one refusal per
pause. One timer resumes all the connections due together (``_Pacer``).

Every request's scope also carries ``"canaduck.arrived_at"``: the loop time when its
headers were parsed, before it waited for its task's first turn. The gateway starts the
request's deadline there, so time spent queued on a busy loop counts against it.

And ``"canaduck.on_disconnect"``, a slot (None) where the app may put a callable: called
once, from ``connection_lost``, when the client goes away before its answer is complete.
ASGI only says so through ``receive()``, which means a task per request parked on it
(about a tenth of the gateway's CPU per REST request, measured); a callback costs nothing
until it fires.

Built on uvicorn's httptools protocol (``uvicorn[standard]``); the parser callbacks used
here are the ones uvicorn's own ``limit_concurrency`` check sits in.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import ClassVar, Protocol

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

ADMISSION_STATE_KEY = "admission"
ARRIVED_AT_KEY = "canaduck.arrived_at"
ON_DISCONNECT_KEY = "canaduck.on_disconnect"
ADMITTED_KEY = "canaduck.admitted"

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]


class Admission(Protocol):
    # After a refusal, the connection's next request is read no sooner than this (0: at
    # once). See the module docstring.
    refusal_pause_seconds: float

    def admit(self, path: str, headers: Headers) -> Answer | bool:
        """The answer to send instead of running the request; otherwise whether the request
        took one of the app's slots just now (True: its scope says so under
        ``ADMITTED_KEY``, and the app frees the slot when the request ends)."""

    def release(self) -> None:
        """Free the slot ``admit`` took for a request that will not run after all."""


class _Pacer:
    """Refused connections, each read again ``seconds`` after its refusal: one timer for
    all of them (a timer per refusal would cost as much as the refusal's parsing)."""

    SLACK_SECONDS = 0.002  # resumed together: those due within this much of each other

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop = loop
        self.seconds = seconds
        self.waiting: deque[tuple[float, HttpToolsProtocol]] = deque()  # in due order
        self.timer: asyncio.TimerHandle | None = None

    def pause(self, protocol: HttpToolsProtocol) -> None:
        protocol.flow.pause_reading()
        self.waiting.append((self.loop.time() + self.seconds, protocol))
        if self.timer is None:
            self.timer = self.loop.call_at(self.waiting[0][0], self._resume_due)

    def _resume_due(self) -> None:
        waiting, now = self.waiting, self.loop.time() + self.SLACK_SECONDS
        while waiting and waiting[0][0] <= now:
            protocol = waiting.popleft()[1]
            cycle = protocol.cycle
            # A request after the refused one, in the same segment, may have started:
            # uvicorn resumes reading when that one is answered.
            if not protocol.transport.is_closing() and (cycle is None or cycle.response_complete):
                protocol.flow.resume_reading()
        self.timer = self.loop.call_at(waiting[0][0], self._resume_due) if waiting else None


class AdmittingHttpToolsProtocol(HttpToolsProtocol):
    _refusing = False  # the current request was answered early: its body is skipped
    _pacer: ClassVar[_Pacer | None] = None  # one per server (its loop)

    def on_message_begin(self) -> None:
        # A request is starting: the connection is not idle, whatever timer an earlier
        # refusal in the same segment armed (uvicorn cancels once per ``data_received``).
        self._unset_keepalive_if_required()
        super().on_message_begin()
        self._refusing = False

    def on_headers_complete(self) -> None:
        admission: Admission | None = self.app_state.get(ADMISSION_STATE_KEY)
        verdict: Answer | bool = False
        if (
            admission is not None
            and self.limit_concurrency is None  # else uvicorn may run its own 503 app instead
            and (self.cycle is None or self.cycle.response_complete)  # not pipelined
            and not self.flow.write_paused  # a client not reading: uvicorn's path waits
            and not self.parser.should_upgrade()
        ):
            # The raw path, undecoded: the app's rules name plain ASCII paths.
            path = self.url.partition(b"?")[0].decode("latin-1")
            try:
                verdict = admission.admit(path, self.headers)
            except Exception:  # the app's bug must not become "Invalid HTTP request"
                self.logger.exception("Admission check failed; the request goes on")
                verdict = False
            if verdict is not True and verdict is not False:
                self._refuse(*verdict, pause_seconds=admission.refusal_pause_seconds)
                return
        try:
            super().on_headers_complete()  # starts the request's task (it is not pipelined)
        except BaseException:  # e.g. a URL httptools cannot parse: uvicorn answers 400
            if verdict is True and admission is not None:
                admission.release()  # no task will run to free the slot
            raise
        self.scope[ARRIVED_AT_KEY] = self.loop.time()  # type: ignore[literal-required]
        self.scope[ON_DISCONNECT_KEY] = None  # type: ignore[literal-required]
        self.scope[ADMITTED_KEY] = verdict  # type: ignore[literal-required]

    def _refuse(self, status: int, headers: Headers, body: bytes, *, pause_seconds: float) -> None:
        self._refusing = True
        # Close after a refusal when the client asked to, and when it waits for "100
        # Continue" (its body may never come: it only learns here that it is not wanted).
        close = (
            self.parser.get_http_version() == "1.0"
            or not self.parser.should_keep_alive()
            or self.expect_100_continue
        )
        lines = [STATUS_LINE[status]]
        for name, value in [*self.server_state.default_headers, *headers]:
            lines += [name, b": ", value, b"\r\n"]
        lines += [b"content-length: ", str(len(body)).encode(), b"\r\n"]
        if close:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        if self.parser.get_method() != b"HEAD":
            lines.append(body)
        self.transport.write(b"".join(lines))
        self.server_state.total_requests += 1
        if close:
            self.transport.close()  # as uvicorn does after any answer without keep-alive
        else:
            # A body that never comes must not hold the connection: the idle timer runs
            # while it is skipped, and again once it is over.
            self._arm_keep_alive()
            if pause_seconds > 0:
                self._pause_after_refusal(pause_seconds)

    def _pause_after_refusal(self, seconds: float) -> None:
        pacer = AdmittingHttpToolsProtocol._pacer
        if pacer is None or pacer.loop is not self.loop or pacer.seconds != seconds:
            # (A pacer replaced here still resumes what it holds: its timer keeps it.)
            pacer = AdmittingHttpToolsProtocol._pacer = _Pacer(self.loop, seconds)
        pacer.pause(self)

    def _arm_keep_alive(self) -> None:
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def on_body(self, body: bytes) -> None:
        if not self._refusing:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refusing:
            super().on_message_complete()
            return
        self._refusing = False
        if self.timeout_keep_alive_task is None and not self.transport.is_closing():
            # As after any answer (``on_response_complete``): wait for the next request.
            # (Usually the timer ``_refuse`` armed is still running: the body came with
            # the headers, and that timer started microseconds ago.)
            self._arm_keep_alive()

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        super().connection_lost(exc)
        if cycle is not None and not cycle.response_complete:
            on_disconnect: Callable[[], object] | None = cycle.scope.get(ON_DISCONNECT_KEY)  # type: ignore[assignment]
            if on_disconnect is not None:
                cycle.scope[ON_DISCONNECT_KEY] = None  # type: ignore[literal-required]
                on_disconnect()
