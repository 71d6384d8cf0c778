"""Load generators: wrk when installed (``apt-get install wrk``), else ``bench.client`` in a
process of its own. Both run on the load core, closed loop, and report the same numbers.

    python -m bench.loadgen --url URL [--body JSON] --concurrency 50 --duration 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench.client import LoadResult, run_load
from bench.procs import LOAD_CPU, pinned

# wrk's Lua hooks: a POST body when there is one, and the summary as one JSON line.
_WRK_LUA = """
local body = %s
if body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"seconds":%%f,"p50_ms":%%f,"p99_ms":%%f,"errors":%%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


class Generator:
    """Runs one closed-loop load against a URL and returns a :class:`LoadResult`."""

    def __init__(self, prefer_wrk: bool = True) -> None:
        self.wrk = shutil.which("wrk") if prefer_wrk else None
        self.name = "wrk -t1" if self.wrk else "bench.client (asyncio, own process)"

    def run(self, url: str, body: str, concurrency: int, seconds: float) -> LoadResult:
        if self.wrk:
            return self._wrk(url, body, concurrency, seconds)
        return self._python(url, body, concurrency, seconds)

    def _wrk(self, url: str, body: str, concurrency: int, seconds: float) -> LoadResult:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_WRK_LUA % _lua_string(body))
        try:
            command = [
                str(self.wrk),
                *("-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"),
                *("-s", script.name, url),
            ]
            return _parse(_call(pinned(command, LOAD_CPU), seconds))
        finally:
            Path(script.name).unlink()

    def _python(self, url: str, body: str, concurrency: int, seconds: float) -> LoadResult:
        command = [sys.executable, "-m", "bench.loadgen", "--url", url, "--body", body]
        command += ["--concurrency", str(concurrency), "--duration", str(seconds)]
        return _parse(_call(pinned(command, LOAD_CPU), seconds))


def _call(command: list[str], seconds: float) -> str:
    done = subprocess.run(  # noqa: S603 (our own command line, no shell)
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def _parse(output: str) -> LoadResult:
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            return LoadResult(**json.loads(line.removeprefix("BENCH_JSON ")))
    raise RuntimeError(f"no result in load generator output:\n{output[-2000:]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", default="", help="JSON body: sends a POST")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=4.0)
    args = parser.parse_args(argv)
    body = args.body.encode()
    load = run_load(
        args.url,
        method="POST" if body else "GET",
        body=body,
        concurrency=args.concurrency,
        duration_seconds=args.duration,
    )
    try:
        import uvloop  # the loop uvicorn[standard] brings

        result = uvloop.run(load)
    except ImportError:
        result = asyncio.run(load)
    print("BENCH_JSON " + json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    main()
