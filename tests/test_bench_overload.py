"""bench.overload's closed-loop client: what it counts is what a server answered."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bench.overload import Outcome, closed_loop, measure, verdicts

Answer = Callable[[int], tuple[bytes, bool]]  # request number -> (bytes, close after)


@asynccontextmanager
async def server(answer: Answer) -> AsyncIterator[str]:
    numbers = itertools.count()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                )
                await reader.readexactly(length)
                data, close = answer(next(numbers))
                writer.write(data[:20])  # in two pieces: the client must wait for the rest
                await asyncio.sleep(0)
                writer.write(data[20:])
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield f"http://127.0.0.1:{port}/graphql"


def http(status: int, body: bytes = b"{}", *headers: bytes) -> bytes:
    head = [b"HTTP/1.1 %d X" % status, b"content-length: %d" % len(body), *headers]
    return b"\r\n".join([*head, b"", b""]) + body


async def test_it_counts_answers_by_status() -> None:
    async with server(lambda n: (http(200 if n % 2 else 503), False)) as url:
        outcome = await closed_loop(url, b'{"query": 1}', 4, 0.3)
    assert set(outcome.statuses()) == {200, 503}
    assert abs(outcome.count(200) - outcome.count(503)) <= 4  # one in flight per client
    assert outcome.count(200) > 20


async def test_it_reconnects_after_connection_close_without_counting_a_failure() -> None:
    async with server(lambda n: (http(200, b"{}", b"connection: close"), True)) as url:
        outcome = await closed_loop(url, b"{}", 2, 0.3)
    assert set(outcome.statuses()) == {200}
    assert outcome.count(200) > 5


async def test_a_client_that_honours_retry_after_waits_after_each_503() -> None:
    async with server(lambda n: (http(503), False)) as url:
        outcome = await closed_loop(url, b"{}", 2, 0.35, pause_after_503=0.1)
    assert set(outcome.statuses()) == {503}
    assert outcome.count(503) <= 2 * 4  # at 0, 0.1, 0.2, 0.3 s per client


def test_each_repeat_is_judged_against_its_own_saturated_run() -> None:
    def outcome(ok: int, refused: int, refused_ms: float) -> Outcome:
        return Outcome(1.0, {200: [40.0] * ok, 503: [refused_ms] * refused})

    repeats = [
        [("saturated", 32, outcome(700, 0, 0)), ("overload", 512, outcome(600, 900, 30))],
        [("saturated", 32, outcome(400, 0, 0)), ("overload", 512, outcome(300, 900, 70))],
    ]
    lines = verdicts(repeats)
    assert "  [MISSED] goodput >= 80 % of saturated: met in 1 of 2 (86%, 75%)" in lines
    assert "  [MISSED] 503s p99 <= 50 ms: met in 1 of 2 (30 ms, 70 ms)" in lines
    assert "  [ok] only 200 and 503 answers: met in 2 of 2 (0 other, 0 other)" in lines


async def test_a_load_process_hands_over_every_answer_it_counted() -> None:
    """The load runs in a process of its own (``measure``); its outcome, hundreds of
    thousands of latencies, once came back cut at 224 KiB through a pipe."""
    async with server(lambda n: (http(503), False)) as url:
        outcome = await asyncio.to_thread(measure, url, '{"query": 1}', 32, 2.0)
    assert set(outcome.statuses()) == {503}
    # ~75,000 here; past 224 KiB of JSON from ~12,000 on (about 20 bytes per latency).
    assert len(json.dumps(outcome.latencies_ms)) > 224 * 1024
    assert outcome.load_cores == outcome.load_cores  # reported (not NaN)
