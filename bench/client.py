"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for load and bursts.

No client library: what is measured is the server, not a connection pool (httpx's own pool
is one of the things under test, see ``bench.transport``). Bodies need a Content-Length,
which every server the bench starts sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one load run saw; latencies in milliseconds."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # transport failures and non-2xx answers

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def build_request(url: str, method: str = "GET", body: bytes = b"") -> bytes:
    """The bytes of one request to ``url`` (JSON body when there is one)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [f"{method} {target or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    if body:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection that reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, raw: bytes) -> int:
        """Send ``raw``, read the whole answer, return its status."""
        if self.writer is None or self.writer.is_closing():
            await self.open()
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection") == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def run_load(
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    concurrency: int = 1,
    duration_seconds: float = 2.0,
    max_requests: int | None = None,
) -> LoadResult:
    """Closed loop: ``concurrency`` connections, each sending as soon as it has its answer,
    until ``duration_seconds`` pass or ``max_requests`` have been sent."""
    raw = build_request(url, method, body)
    host, port = _address(url)
    latencies: list[float] = []
    errors = 0
    budget = max_requests if max_requests is not None else math.inf
    started = time.perf_counter()
    deadline = started + duration_seconds

    async def worker() -> None:
        nonlocal errors, budget
        connection = Connection(host, port)
        try:
            while budget > 0 and time.perf_counter() < deadline:
                budget -= 1
                sent = time.perf_counter()
                try:
                    status = await asyncio.wait_for(connection.request(raw), 10.0)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                    errors += 1
                    await connection.close()
                    continue
                latencies.append((time.perf_counter() - sent) * 1000)
                errors += not 200 <= status < 300
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return LoadResult(
        len(latencies), elapsed, percentile(latencies, 50), percentile(latencies, 99), errors
    )


async def burst(url: str, *, method: str = "GET", body: bytes = b"", size: int = 100) -> list[int]:
    """``size`` identical requests at the same instant (connections opened beforehand)."""
    raw = build_request(url, method, body)
    host, port = _address(url)
    connections = [Connection(host, port) for _ in range(size)]
    await asyncio.gather(*(c.open() for c in connections))
    try:
        statuses = await asyncio.wait_for(
            asyncio.gather(*(c.request(raw) for c in connections)), 30.0
        )
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    return list(statuses)
