"""Which HTTP client should the gateway fan out with? A micro-bench at the client alone.

    python -m bench.transport [--concurrency 50] [--delay-ms 50] [--duration 4] [--repeats 3]

One stub upstream (CPU 0) sleeps the delay; each client runs in a fresh process on CPU 1
(under uvloop, as the gateway does) with ``concurrency`` requests in flight, interleaved
over the repeats; medians are printed. It isolates what encode/httpx#3215 is about: the
client's own CPU per call, which caps a gateway's throughput long before the upstreams do.
Needs ``pip install httpx-aiohttp aiohttp`` for the last two rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from importlib import metadata

import httpx

from bench import procs
from bench.client import percentile

CLIENTS = {
    "httpx": "httpx.AsyncClient() (default pool 100/20)",
    "httpx-50": "httpx.AsyncClient(limits=c/c: the gateway's 50/50)",
    "httpx-20": "httpx.AsyncClient(limits=20/20)",
    "httpx-gateway-pool": "httpx + gateway.http_pool.UpstreamTransport (c/c)",
    "httpx-aiohttp": "httpx + httpx_aiohttp.AiohttpTransport (limit 50)",
    "aiohttp": "aiohttp.ClientSession (TCPConnector limit 50)",
}
Get = Callable[[], Awaitable[int]]


async def _measure(get: Get, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    cpu_before, started = time.process_time(), time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                status = await get()
            except Exception:  # any client failure counts, the run goes on
                errors += 1
                continue
            latencies.append((time.perf_counter() - sent) * 1000)
            errors += status != 200

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    done = max(1, len(latencies))
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "cpu_ms": (time.process_time() - cpu_before) * 1000 / done,
        "errors": errors,
    }


async def _run_client(kind: str, url: str, concurrency: int, seconds: float) -> dict[str, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if kind.startswith("httpx"):
        options: dict[str, object] = {}
        if kind == "httpx-50":
            options["limits"] = limits
        elif kind == "httpx-20":
            options["limits"] = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        elif kind == "httpx-gateway-pool":
            # The gateway's own pool fix, when its working tree has one.
            from gateway.http_pool import UpstreamTransport  # type: ignore[import-not-found,unused-ignore]

            options["transport"] = UpstreamTransport(limits=limits)
        elif kind == "httpx-aiohttp":
            from httpx_aiohttp import AiohttpTransport  # optional dependency

            options["transport"] = AiohttpTransport(limits=limits)
        async with httpx.AsyncClient(**options) as client:  # type: ignore[arg-type]

            async def get_httpx() -> int:
                return (await client.get(url)).status_code

            return await _measure(get_httpx, concurrency, seconds)
    import aiohttp  # optional dependency

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def get_aiohttp() -> int:
            async with session.get(url) as response:
                await response.read()
                return response.status

        return await _measure(get_aiohttp, concurrency, seconds)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _compare(args: argparse.Namespace) -> None:
    procs.pin_self_to_load_cpu()
    stub = procs.stub("weather", args.delay_ms).start()
    url = f"{stub.url}/weather?city=Rodez"
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in CLIENTS}
    try:
        for _ in range(args.repeats):
            for kind in CLIENTS:  # interleaved: A B C D, A B C D, ...
                command = procs.python_module("bench.transport", "--client", kind, "--url", url)
                command += [
                    "--concurrency",
                    str(args.concurrency),
                    "--duration",
                    str(args.duration),
                ]
                done = subprocess.run(  # noqa: S603 (our own command line, no shell)
                    procs.pinned(command, procs.SERVER_CPU),
                    capture_output=True,
                    text=True,
                    timeout=args.duration + 60,
                    check=False,
                )
                if done.returncode == 0:
                    runs[kind].append(json.loads(done.stdout.splitlines()[-1]))
                else:
                    print(f"{kind}: failed: {done.stderr.strip().splitlines()[-1:]}")
    finally:
        stub.stop()
    ideal = args.concurrency / (args.delay_ms / 1000) if args.delay_ms else float("nan")
    print(
        f"HTTP clients, c={args.concurrency}, stub delay {args.delay_ms:g} ms (ideal {ideal:.0f} "
        f"rps), {args.repeats}×{args.duration:g} s interleaved, medians; client pinned to CPU "
        f"{procs.SERVER_CPU if procs.can_pin() else '(not pinned)'}"
    )
    print("versions: " + ", ".join(f"{p} {_version(p)}" for p in VERSIONED))
    print(f"{'client':52} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/call':>11} errors")
    for kind, label in CLIENTS.items():
        if not runs[kind]:
            print(f"{label:52} {'n/a':>7}")
            continue
        med = {k: statistics.median(r[k] for r in runs[kind]) for k in runs[kind][0]}
        print(
            f"{label:52} {med['rps']:7.0f} {med['p50_ms']:7.1f} {med['p99_ms']:7.1f} "
            f"{med['cpu_ms']:11.3f} {sum(r['errors'] for r in runs[kind]):.0f}"
        )


VERSIONED = ("httpx", "httpcore", "anyio", "sniffio", "aiohttp", "httpx-aiohttp", "uvloop")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transport", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--client", choices=list(CLIENTS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client is None:
        _compare(args)
        return
    import uvloop  # the gateway's loop under uvicorn[standard]

    result = uvloop.run(_run_client(args.client, args.url, args.concurrency, args.duration))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
