"""``python -m bench.overload``: the gateway at 16x its saturating concurrency.

    python -m bench.overload [--concurrency 512] [--saturated 32] [--duration 10]
                             [--repeats 1] [--max-in-flight N] [--delays 40 20]

Starts the bench stack (stub upstreams sleeping 40 and 20 ms, the gateway with its cache
off, pinned to its own core), runs GraphQL ``fullinfo`` at the saturating concurrency, then
at the overload concurrency, and prints both side by side with the targets of issue 12:
only 200 and 503 answers; 200s p99 <= 1 s; 503s p99 <= 50 ms; goodput (200s per second)
>= 80 % of the saturated throughput. "gw CPU" is the gateway's CPU time per second of the
run (1.0: its whole core), "load CPU" the load process's: near 1.0 would mean the client,
not the gateway, sets the pace.

The load is a closed loop of keep-alive connections in a process of its own on the load
core (an asyncio protocol per connection, no task per request, its garbage collector off
during the run), recording each answer's status and latency: a 503 is answered in a
millisecond and its client sends again at once, so at c=512 most of the traffic is
rejections, the worst case for the gateway's core. A third run has the same clients
honour ``Retry-After`` (wait 1 s after a 503), as a well-behaved client would. (wrk only
reports all latencies together, so it is not used here.) The stub upstreams share the
load core: what they cost is taken from the client.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import cast

from bench import procs
from bench.client import _address, build_request, percentile
from bench.stack import TARGETS, Stack, running
from gateway.shedding import RETRY_AFTER_SECONDS

TIMEOUT_SECONDS = 10.0


@dataclass
class Outcome:
    """What one load run saw, by status (0: no answer: refused, reset or timed out)."""

    seconds: float
    latencies_ms: dict[int, list[float]] = field(default_factory=dict)
    server_cores: float = float("nan")  # the gateway's CPU seconds per second of the run
    load_cores: float = float("nan")  # the load process's, likewise

    def count(self, status: int) -> int:
        return len(self.latencies_ms.get(status, []))

    def rate(self, status: int) -> float:
        return self.count(status) / self.seconds if self.seconds else 0.0

    def p(self, status: int, q: float) -> float:
        return percentile(self.latencies_ms.get(status, []), q)

    def statuses(self) -> Counter[int]:
        return Counter({status: len(v) for status, v in self.latencies_ms.items()})


class _Client(asyncio.Protocol):
    """One keep-alive connection of the closed loop: the answer is read in
    ``data_received`` and the next request written from there, with no task and no stream,
    so the client's own time per answer stays far below the gateway's (a stream-based
    client spent about as much CPU per 503 as the gateway did, and its own turn-around
    ended up in the latencies it measured)."""

    def __init__(self, load: _Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent = 0.0  # perf_counter when the request was sent; 0.0: none outstanding
        self.stale = 0  # connections closed here whose connection_lost is still to come
        self.done = load.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        if self.sent:  # a request timed from before the (re)connect
            self.transport.write(self.load.raw)

    def send(self) -> None:
        if time.perf_counter() >= self.load.deadline:
            self._finish()
            return
        self.sent = time.perf_counter()
        self.buffer.clear()
        if self.transport is None or self.transport.is_closing():
            self.transport = None
            self.load.connect(self)  # timed: the handshake counts, as in a real client
        else:
            self.transport.write(self.load.raw)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(self.buffer[:head_end]).lower()
        length = _CONTENT_LENGTH.search(head)
        if length is None or not self.sent:
            self._record(0)  # not an answer this bench understands: count it, reconnect
            self._close()
            self.send()
            return
        if len(self.buffer) < head_end + 4 + int(length.group(1)):
            return
        status = int(head[9:12])
        self._record(status)
        if b"\r\nconnection: close" in head:
            self._close()
        if status == 503 and self.load.pause_after_503:
            self.load.loop.call_later(self.load.pause_after_503, self.send)
        else:
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.stale:  # one this client closed itself (it may be on a new one by now)
            self.stale -= 1
            return
        self.transport = None
        if self.sent:  # reset, refused or timed out with a request outstanding
            self._record(0)
            self.send()

    def _record(self, status: int) -> None:
        self.load.latencies[status].append((time.perf_counter() - self.sent) * 1000)
        self.sent = 0.0

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
            self.stale += 1

    def _finish(self) -> None:
        self._close()
        if not self.done.done():
            self.done.set_result(None)


def _same(client: _Client) -> _Client:
    return client


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)")


@dataclass
class _Load:
    loop: asyncio.AbstractEventLoop
    host: str
    port: int
    raw: bytes
    deadline: float
    pause_after_503: float
    latencies: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    connecting: set[asyncio.Task[object]] = field(default_factory=set)

    def connect(self, client: _Client) -> None:
        async def connect() -> None:
            try:
                await self.loop.create_connection(
                    functools.partial(_same, client), self.host, self.port
                )
            except OSError:
                client.connection_lost(None)  # counted as no answer; tries again

        task: asyncio.Task[object] = self.loop.create_task(connect())
        self.connecting.add(task)
        task.add_done_callback(self.connecting.discard)


async def closed_loop(
    url: str, body: bytes, concurrency: int, seconds: float, pause_after_503: float = 0.0
) -> Outcome:
    """``concurrency`` keep-alive connections, each sending again as soon as answered (or
    ``pause_after_503`` seconds after a 503: a client that honours ``Retry-After``)."""
    host, port = _address(url)
    loop = asyncio.get_running_loop()
    load = _Load(loop, host, port, build_request(url, "POST", body), math.inf, pause_after_503)
    clients = [_Client(load) for _ in range(concurrency)]
    # Connected before the clock starts, as wrk does: a latency is a request's, not the
    # TCP handshake's (512 connects at once would otherwise land in the first answers).
    # A connection that fails here connects again on its first request, timed.
    await asyncio.gather(
        *(loop.create_connection(functools.partial(_same, c), host, port) for c in clients),
        return_exceptions=True,
    )
    started = time.perf_counter()
    load.deadline = started + seconds
    for client in clients:
        client.send()
    # A request still unanswered TIMEOUT_SECONDS after it was sent counts as no answer.
    pending = {client.done for client in clients}
    while pending:
        _, pending = await asyncio.wait(pending, timeout=0.5)
        now = time.perf_counter()
        for client in clients:
            if client.sent and now - client.sent > TIMEOUT_SECONDS and client.transport:
                client.transport.abort()
    return Outcome(time.perf_counter() - started, dict(load.latencies))


def _load_main(args: argparse.Namespace) -> None:
    """The load process: one run, its outcome as JSON in the file ``args.out`` (megabytes
    of latencies: through a pipe, the parent once read only the first 224 KiB). Without the
    garbage collector: its full collections stopped this process for up to ~85 ms, and
    every answer that arrived meanwhile looked that much slower (wrk has no collector)."""
    gc.collect()
    gc.disable()  # the run makes next to no reference cycles: ~10 s of them is nothing
    load = closed_loop(
        args.url, args.body.encode(), args.concurrency, args.duration, args.pause_after_503
    )
    try:
        import uvloop

        outcome = uvloop.run(load)
    except ImportError:
        outcome = asyncio.run(load)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cores = (usage.ru_utime + usage.ru_stime) / outcome.seconds  # start-up included: ~1 %
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(
            {"seconds": outcome.seconds, "latencies_ms": outcome.latencies_ms, "cores": cores}, out
        )


def measure(
    url: str, body: str, concurrency: int, seconds: float, pause_after_503: float = 0.0
) -> Outcome:
    """One run in a load process of its own, pinned to the load core."""
    command = [sys.executable, "-m", "bench.overload", "--load", url, "--body", body]
    command += ["--concurrency", str(concurrency), "--duration", str(seconds)]
    command += ["--pause-after-503", str(pause_after_503)]
    with tempfile.TemporaryDirectory(prefix="canaduck-overload-") as directory:
        out = os.path.join(directory, "outcome.json")
        done = subprocess.run(  # noqa: S603 (our own command line, no shell)
            procs.pinned([*command, "--out", out], procs.LOAD_CPU),
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        if done.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"load process failed ({done.returncode}): {done.stderr[-2000:]}")
        with open(out, encoding="utf-8") as result:
            data = json.load(result)
    latencies = {int(status): values for status, values in data["latencies_ms"].items()}
    return Outcome(float(data["seconds"]), latencies, load_cores=float(data["cores"]))


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.0f}"  # NaN: no such answers


def table(runs: list[tuple[str, int, Outcome]]) -> list[str]:
    lines = [
        f"{'run':<25} {'c':>4} {'200/s':>7} {'200 p50':>8} {'200 p99':>8} "
        f"{'503/s':>7} {'503 p50':>8} {'503 p99':>8} {'gw CPU':>6} {'ms/req':>6} "
        f"{'load CPU':>8}  other answers",
    ]
    for name, c, o in runs:
        others = {s: n for s, n in o.statuses().items() if s not in (200, 503)}
        answered = o.rate(200) + o.rate(503)
        per_request = o.server_cores / answered * 1000 if answered else float("nan")
        lines.append(
            f"{name:<25} {c:>4} {o.rate(200):>7.0f} {_ms(o.p(200, 50)):>8} "
            f"{_ms(o.p(200, 99)):>8} {o.rate(503):>7.0f} {_ms(o.p(503, 50)):>8} "
            f"{_ms(o.p(503, 99)):>8} {o.server_cores:>6.2f} {per_request:>6.2f} "
            f"{o.load_cores:>8.2f}  {others or 'none'}"
        )
    return lines


def checks(saturated: Outcome, overload: Outcome) -> list[tuple[str, bool, str]]:
    """The targets of issue 12, for one overload run against the saturated one:
    (target, met, what was seen)."""
    goodput = overload.rate(200) / saturated.rate(200) if saturated.rate(200) else 0.0
    unexpected = sum(n for s, n in overload.statuses().items() if s not in (200, 503))
    return [
        ("only 200 and 503 answers", unexpected == 0, f"{unexpected} other"),
        ("200s p99 <= 1000 ms", overload.p(200, 99) <= 1000, f"{_ms(overload.p(200, 99))} ms"),
        ("503s p99 <= 50 ms", overload.p(503, 99) <= 50, f"{_ms(overload.p(503, 99))} ms"),
        ("goodput >= 80 % of saturated", goodput >= 0.8, f"{goodput:.0%}"),
    ]


def verdicts(repeats: list[list[tuple[str, int, Outcome]]]) -> list[str]:
    """Each overload run's targets, against the saturated run of the same repeat: met in
    how many repeats, and what each repeat saw."""
    lines = []
    for index, (name, _, _) in enumerate(repeats[0][1:], start=1):
        lines.append(f"\n{name}:")
        seen = [checks(runs[0][2], runs[index][2]) for runs in repeats]
        for row, (what, _, _) in enumerate(seen[0]):
            met = sum(1 for one in seen if one[row][1])
            mark = "ok" if met == len(seen) else "MISSED"
            values = ", ".join(one[row][2] for one in seen)
            lines.append(f"  [{mark}] {what}: met in {met} of {len(seen)} ({values})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.overload", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=512, help="overload clients")
    parser.add_argument("--saturated", type=int, default=32, help="saturating clients")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each run")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run the three runs this many times in a row (the host's speed moves from one "
        "minute to the next: each repeat is judged against its own saturated run)",
    )
    parser.add_argument(
        "--max-in-flight", type=int, help="GATEWAY_MAX_IN_FLIGHT (default: the gateway's)"
    )
    parser.add_argument("--delays", type=float, nargs=2, default=(40.0, 20.0), metavar="MS")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)  # the load process
    parser.add_argument("--body", default="", help=argparse.SUPPRESS)
    parser.add_argument("--pause-after-503", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)  # where the load process writes
    args = parser.parse_args(argv)
    if args.load:
        if not args.out:
            parser.error("--load needs --out")
        args.url = args.load
        _load_main(args)
        return 0

    procs.pin_self_to_load_cpu()
    # No shutdown drain: nothing routes to these gateways, and it would add 5 s per stop.
    settings = {"GATEWAY_SHUTDOWN_DRAIN_SECONDS": "0"}
    if args.max_in_flight:
        settings["GATEWAY_MAX_IN_FLIGHT"] = str(args.max_in_flight)
    stack = Stack(args.delays[0], naive_threads=(), gateway_settings=settings, with_peer=False)
    target = TARGETS["fullinfo"]
    print("starting the stubs and the gateway ...", file=sys.stderr, flush=True)
    repeats: list[list[tuple[str, int, Outcome]]] = []
    with running(stack):
        stack.set_delays(*args.delays)
        stack.check(target)
        url = stack.url(target)
        runs = (
            ("saturated", args.saturated, 0.0),
            ("overload", args.concurrency, 0.0),
            ("overload, Retry-After", args.concurrency, float(RETRY_AFTER_SECONDS)),
        )
        for repeat in range(1, args.repeats + 1):
            results = []
            for name, concurrency, pause in runs:
                print(
                    f"[{repeat}/{args.repeats}] {name}, c={concurrency}: {args.duration:g} s",
                    file=sys.stderr,
                    flush=True,
                )
                measure(url, target.body, concurrency, args.warmup, pause)
                time.sleep(1.0)  # let the warmup's in-flight work end
                cpu = stack.servers[target.process].cpu_seconds()
                outcome = measure(url, target.body, concurrency, args.duration, pause)
                outcome.server_cores = (
                    stack.servers[target.process].cpu_seconds() - cpu
                ) / outcome.seconds
                results.append((name, concurrency, outcome))
                time.sleep(1.0)
            repeats.append(results)
    limit = args.max_in_flight or "the gateway's default"
    pause_setting = os.environ.get("GATEWAY_SHED_PAUSE_SECONDS", "the gateway's default")
    print(
        f"Canaduck overload: GraphQL fullinfo, backends {args.delays[0]:g}/{args.delays[1]:g} "
        f"ms, cache off, GATEWAY_MAX_IN_FLIGHT={limit}, GATEWAY_SHED_PAUSE_SECONDS="
        f"{pause_setting}, {args.duration:g} s per run, {args.repeats} repeat(s), closed "
        f"loop (bench.overload's asyncio protocol client); "
        f"{'pinned' if procs.can_pin() else 'NOT pinned'}; ms/req: the gateway's CPU per "
        "answer (how fast the host let it run)"
    )
    numbered = [
        (f"{index}: {name}" if args.repeats > 1 else name, c, outcome)
        for index, results in enumerate(repeats, start=1)
        for name, c, outcome in results
    ]
    print("\n".join(table(numbered)))
    print("\n".join(verdicts(repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
