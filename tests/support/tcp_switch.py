"""A loopback TCP port that either forwards to a real server or swallows everything.

    with TcpSwitch(("127.0.0.1", 6379)) as switch:   # forwards at first
        switch.blackhole()   # accepts, reads, never answers (a hung Redis)
        switch.forward()     # answers again through the same port

Runs its own event loop in a thread, so a test can flip it while a real gateway process
talks to it. In ``blackhole`` mode, connections already open go quiet too: what a client
sends is read and dropped, so nothing ever comes back on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Literal

from tests.support.processes import LOOPBACK

Mode = Literal["forward", "blackhole"]
CHUNK = 64 * 1024


class TcpSwitch:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode: Mode = "forward"
        self.port = 0
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> TcpSwitch:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=5)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def blackhole(self) -> None:
        self.mode = "blackhole"

    def forward(self) -> None:
        self.mode = "forward"

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        back = asyncio.create_task(self._pipe(upstream_reader, writer))
        try:
            while chunk := await reader.read(CHUNK):
                if self.mode == "forward":
                    upstream_writer.write(chunk)
                    await upstream_writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            back.cancel()
            for w in (writer, upstream_writer):
                with contextlib.suppress(Exception):
                    w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while chunk := await reader.read(CHUNK):
                if self.mode == "forward":
                    writer.write(chunk)
                    await writer.drain()
