"""``python -m bench``: start the stack, run the interleaved scenarios, print one table.

Ratios, not absolute numbers: on a shared 2-core machine the absolute rps move by a third
from one minute to the next, while ratios taken within one interleaved run hold.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from importlib import metadata

from bench import peer, procs
from bench.gateway_app import TRANSPORTS
from bench.loadgen import Generator
from bench.report import peer_table, rows, table
from bench.run import CONCURRENCY, CPU_BOUND_CONCURRENCY, Runner
from bench.stack import Stack, running

CACHE_STATE = {
    True: "on (a repeated request skipped the weather call)",
    False: "not active (a repeated request called the weather service again)",
}
VERSIONED = (
    "uvicorn",
    "uvloop",
    "fastapi",
    "strawberry-graphql",
    "aiohttp",
    "orjson",
    "graphql-core",
)


def _versions() -> str:
    found = []
    for package in VERSIONED:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} -")
    return ", ".join(found)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--delay-ms", type=float, default=50.0, help="stub delay D (%(default)s)")
    parser.add_argument("--duration", type=int, default=4, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warmup per run")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (medians)")
    parser.add_argument("--quick", action="store_true", help="1 repeat of 2 s: a look, not data")
    parser.add_argument("--transport", choices=TRANSPORTS, default="shipped")
    parser.add_argument(
        "--also", choices=TRANSPORTS, help="add rows for a third gateway over this transport"
    )
    parser.add_argument("--no-wrk", action="store_true", help="use the asyncio generator")
    parser.add_argument(
        "--no-peer", action="store_true", help="skip the peer (Hive Gateway) and its rows"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="N > 1: add the 'N processes each' row, the gateway with --workers N against "
        "Hive Gateway with --fork N (needs python -m gateway --workers)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeats = 2, 1, 1
    if args.delay_ms <= 0:
        parser.error("--delay-ms must be positive (the ratios divide by it)")
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    pinned = procs.can_pin()
    procs.pin_self_to_load_cpu()
    generator = Generator(prefer_wrk=not args.no_wrk)
    started = time.monotonic()
    load_before = _load_average()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - started:5.0f} s] {message}", file=sys.stderr, flush=True)

    progress("starting stubs, two gateways (cache off/on), the naive aggregators, the peer")
    stack = Stack(
        args.delay_ms,
        transport=args.transport,
        alt_transport=args.also,
        naive_threads=(1, CONCURRENCY, CPU_BOUND_CONCURRENCY),  # one per client count
        with_peer=not args.no_peer,
        workers=args.workers,
    )
    with running(stack):
        results = Runner(stack, generator, duration=args.duration, warmup=args.warmup).run(
            args.repeats, progress
        )
    elapsed = time.monotonic() - started
    placement = (
        f"gateway, naive aggregator and peer pinned to CPU {procs.SERVER_CPU}; stubs, load "
        f"generator and bench on CPU {procs.LOAD_CPU} (taskset)"
        if pinned
        else "NOT pinned (needs taskset and 2 CPUs): every process shares every core"
    )
    print(
        f"Canaduck bench: D = {args.delay_ms:g} ms, {args.repeats} interleaved repeat(s) of "
        f"{args.warmup} s warmup + {args.duration} s, medians; {elapsed:.0f} s in all\n"
        f"machine: {os.cpu_count()} CPUs, {_cpu_model()}, Python {platform.python_version()}; "
        f"{placement}\n"
        f"host load average (1 min) before / after: {load_before} / {_load_average()} "
        f"(other jobs on these cores slow every server alike; read the ratios)\n"
        f"load: {generator.name}, closed loop; gateway transport: {args.transport}"
        f"{f' (rows tagged [{args.also}]: a gateway over {args.also})' if args.also else ''}; "
        f"cache: {CACHE_STATE[results.cache]}\n"
        f"versions: {_versions()}\n"
    )
    print(table(rows(results)))
    print()
    print(peer_table(results, peer.version()))
    if errors := results.errors():
        listed = ", ".join(f"{key} {n}" for key, n in errors.items())
        print(f"failed or non-2xx answers (timeouts under overload count here): {listed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
