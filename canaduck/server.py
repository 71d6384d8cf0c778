"""uvicorn's server, with a drain between the first SIGTERM and the shutdown.

uvicorn alone stops accepting connections ~0.1 s after SIGTERM (``Server.handle_exit``
sets ``should_exit``; ``main_loop`` notices on its next tick; ``shutdown`` closes the
listeners). A load balancer that still routes here then gets refused connections. An app
opts in to a drain by putting an object with ``seconds``, ``grace_seconds`` and
``start()`` in its lifespan state under ``"drain"`` (the gateway: ``gateway.shedding``).
Then the timeline is:

    t = 0             SIGTERM (or SIGINT): drain.start(). The app fails readiness and
                      asks clients to close kept-alive connections; it goes on serving.
    t = seconds       uvicorn's own shutdown: stop accepting, close idle connections, wait
                      up to ``grace_seconds`` for requests in flight (each bounded by its
                      own deadline), then the lifespan shutdown closes the pools.
    exit              the signal is re-raised, as uvicorn does (status -15 for SIGTERM).

A second SIGTERM or SIGINT, at any point, exits at once. An app with no drain gets
uvicorn's behaviour unchanged.

After startup (the app's lifespan has run, the sockets listen), ``settle_heap`` moves
everything alive into the garbage collector's permanent generation. Without it, every
full collection walked the whole startup heap (the GraphQL schema, modules, pools: over
100,000 objects), about once a second under load, and stopped the event loop for 80 to
120 ms each time: the gateway's p99 for GraphQL ``fullinfo`` at c=32 was 120 ms for a
p50 of 42 ms; with the heap settled, 48 to 58 ms (docs/performance.md).

Under uvloop, ``BurstAccept`` takes every waiting connection at once: libuv accepts one
connection per turn of the event loop (https://github.com/libuv/libuv/pull/3696; seen
with uvloop 0.23, libuv 1.52.1), so under load, when a turn takes 10 to 20 ms, a burst of new
connections waited one turn each. Measured under the overload bench: 512 connections opened
together were accepted over 1.9 s, the last ones answered (503) 1.3 s after they sent.

Workers (``--workers N``): uvicorn's supervisor builds each worker's server itself
(``uvicorn.supervisors.multiprocess.Process.server`` makes a plain ``Server``), so
``run`` swaps in this class there: the supervisor forwards SIGTERM to every worker and
waits for it, and each worker drains on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from types import FrameType
from typing import Protocol

import uvicorn
from uvicorn.supervisors import multiprocess

DRAIN_STATE_KEY = "drain"
STARTUP_FAILURE = 3  # uvicorn's exit status when the app did not start

logger = logging.getLogger("uvicorn.error")


class Drainable(Protocol):
    @property
    def seconds(self) -> float: ...

    @property
    def grace_seconds(self) -> float: ...

    def start(self) -> None: ...


def settle_heap() -> None:
    """What is alive now lives as long as the process: out of the collector's sight
    (``gc.freeze``, https://docs.python.org/3/library/gc.html#gc.freeze).

    CPython's thresholds stay. Measured under the overload bench: full collections still
    come about once a second, now 10 to 18 ms each (objects made since startup). Raising
    the young threshold (700 allocations) to 50,000 saved ~5 % of CPU at c=32, but each
    young collection then had tens of thousands of objects to walk and stopped the loop
    for 17 to 60 ms every ~3 s; raising the oldest (10) to 100 made full collections rare
    and one of them took 167 ms."""
    gc.collect()
    gc.freeze()


class BurstAccept:
    """Accept every connection waiting on ``listener`` when it becomes readable (up to
    ``MAX_PER_TURN``), beside the event loop's own accept, which takes one per turn.

    A duplicate of the listening descriptor is watched (epoll accepts a second descriptor
    of the same socket), so the server's own watcher stays as it is; each connection taken
    here becomes a transport with ``loop.connect_accepted_socket``, the protocol from
    ``protocol_factory``, as the server would have made it. When accepting fails for any
    other reason than "nothing waiting" (out of descriptors, say), this watcher rests for
    ``REST_SECONDS`` and leaves the connections to the server's own accept, which has
    libuv's answer to running out of descriptors."""

    MAX_PER_TURN = 256
    REST_SECONDS = 0.1
    WARN_EVERY_SECONDS = 10.0  # out of descriptors, the failure repeats every rest

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listener: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
    ) -> None:
        self.loop = loop
        self.protocol_factory = protocol_factory
        self.socket = socket.socket(fileno=os.dup(listener.fileno()))
        self.adopting: set[asyncio.Task[None]] = set()
        self.closed = False
        self._warned_at = -math.inf
        try:
            self.socket.setblocking(False)
            self.loop.add_reader(self.socket.fileno(), self._accept)
        except BaseException:
            self.socket.close()
            raise

    def _accept(self) -> None:
        for _ in range(self.MAX_PER_TURN):
            try:
                connection, _ = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ECONNABORTED:
                    continue
                self._rest(exc)
                return
            connection.setblocking(False)
            task = self.loop.create_task(self._adopt(connection))
            self.adopting.add(task)
            task.add_done_callback(self.adopting.discard)

    async def _adopt(self, connection: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.protocol_factory, connection)
        except Exception:
            logger.exception("A new connection could not be set up; closed")
            connection.close()

    def _rest(self, exc: OSError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= self.WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning(
                "Accepting connections failed (%s); retrying every %.1f s", exc, self.REST_SECONDS
            )
        self.loop.remove_reader(self.socket.fileno())
        self.loop.call_later(self.REST_SECONDS, self._resume)

    def _resume(self) -> None:
        if not self.closed:
            self.loop.add_reader(self.socket.fileno(), self._accept)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.socket.fileno())
            self.socket.close()


def _is_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.startswith("uvloop")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._drain_until: float | None = None
        self._burst_accepts: list[BurstAccept] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        loop = asyncio.get_running_loop()
        # asyncio's own loop accepts up to the backlog per turn. Under TLS, uvicorn's server
        # does the handshake: its connections are left to it.
        if _is_uvloop(loop) and self.config.ssl is None:
            factory = self._protocol_factory()
            self._burst_accepts = [
                BurstAccept(loop, listener, factory)
                for server in self.servers
                for listener in server.sockets
            ]
        settle_heap()

    def _protocol_factory(self) -> Callable[[], asyncio.Protocol]:
        """The protocol uvicorn's ``startup`` makes for each connection."""
        config = self.config

        def create_protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state
            )

        return create_protocol

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for accept in self._burst_accepts:  # stop accepting, as uvicorn's servers do next
            accept.close()
        # A connection accepted in the last turn joins ``server_state.connections`` only
        # when its adoption task has run: wait for it, so uvicorn's shutdown asks it to
        # close too (else it is served with keep-alive until its idle timeout).
        await asyncio.gather(
            *(task for accept in self._burst_accepts for task in accept.adopting),
            return_exceptions=True,
        )
        await super().shutdown(sockets)

    def _drain(self) -> Drainable | None:
        state = getattr(getattr(self, "lifespan", None), "state", None) or {}
        drain: Drainable | None = state.get(DRAIN_STATE_KEY)
        return drain if self.started else None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        drain = self._drain()
        if self._drain_until is not None or self.should_exit:
            # A second signal: the operator means it. No more waiting.
            logger.info("Second signal: exiting now")
            super().handle_exit(sig, frame)
            self.force_exit = True
            return
        if drain is None:
            super().handle_exit(sig, frame)
            return
        drain.start()
        if self.config.timeout_graceful_shutdown is None:
            self.config.timeout_graceful_shutdown = math.ceil(drain.grace_seconds)
        self._captured_signals.append(sig)  # re-raised on exit, as uvicorn does
        self._drain_until = time.monotonic() + drain.seconds
        logger.info(
            "Draining for %.1f s: readiness fails, requests are still served",
            drain.seconds,
        )

    async def on_tick(self, counter: int) -> bool:
        if self._drain_until is not None and time.monotonic() >= self._drain_until:
            self.should_exit = True
        return await super().on_tick(counter)


class _DrainingProcess(multiprocess.Process):
    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = DrainingServer(config=self.config)
        return self._server


def run(config: uvicorn.Config) -> None:
    """Serve ``config`` as ``uvicorn.run`` would (one process, or ``config.workers``),
    with the drain."""
    if config.workers > 1:
        # The supervisor makes every worker (and each replacement) with this name.
        multiprocess.Process = _DrainingProcess  # type: ignore[misc]
        sock = config.bind_socket()
        multiprocess.Multiprocess(config, sockets=[sock]).run()
        return
    server = DrainingServer(config)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn.run swallows it too
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
