"""Processes the bench runs: started on free loopback ports, pinned, timed, always stopped.

On a 2-core machine the gateway (or the naive aggregator) gets CPU 1 to itself, and the
stubs, the load generator and this process share CPU 0, as the Guild's gateway benchmark
pins k6 and the gateway apart. Every wait is bounded.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"
REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
SERVER_CPU = 1  # the gateway's core
LOAD_CPU = 0  # stubs, load generator, this process
# N server processes (--workers N): both cores, set explicitly, since a child of this
# pinned process would otherwise inherit CPU 0 alone.
BOTH_CPUS = f"{LOAD_CPU},{SERVER_CPU}"


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@functools.cache
def can_pin() -> bool:
    """Pinning needs taskset and two cores we may use (asked once, before we pin ourselves)."""
    return shutil.which("taskset") is not None and {LOAD_CPU, SERVER_CPU} <= os.sched_getaffinity(0)


def pin_self_to_load_cpu() -> None:
    """Keep this process (and the stubs it starts) off the server's core."""
    if can_pin():
        os.sched_setaffinity(0, {LOAD_CPU})


def pinned(command: Sequence[str], cpu: int | str | None) -> list[str]:
    """``command`` under ``taskset -c cpu`` (taskset execs it, so the pid is the program's);
    ``cpu`` may be a list such as :data:`BOTH_CPUS`."""
    if cpu is None or not can_pin():
        return list(command)
    return ["taskset", "-c", str(cpu), *command]


class Process:
    """One server process; ``start`` returns once ``health_path`` answers 200."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        cpu: int | str | None = None,
        health_path: str = "/health",
    ) -> None:
        self.name = name
        self.command = pinned(command, cpu)
        self.port = port
        self.env = {**os.environ, **(env or {})}
        self.health_path = health_path
        self.popen: subprocess.Popen[bytes] | None = None
        # Output goes to a file, never a pipe nobody reads (a full pipe blocks the server).
        self._log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log")  # noqa: SIM115

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} not started"
        return self.popen.pid

    def start(self) -> Process:
        self.popen = subprocess.Popen(  # noqa: S603 (our own command line, no shell)
            self.command, env=self.env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited early:\n{self.output()}")
                try:
                    if client.get(self.url + self.health_path).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} not healthy in {START_TIMEOUT_SECONDS}s:\n{self.output()}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the process and its children, such as gunicorn's
        worker, so far (Linux /proc; 0.0 elsewhere)."""
        return sum(_cpu_seconds(pid) for pid in _tree(self.pid))

    def output(self) -> str:
        return Path(self._log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after the stop timeout; the log file goes too."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
        self._log.close()


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (proc(5): /proc/PID/task/TID/children)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending += [int(child) for child in children.read_text().split()]
            except OSError:
                continue
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After "pid (comm)": utime and stime are fields 14 and 15 of proc(5).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def stub(service: str, delay_ms: float, *, pin: bool = True) -> Process:
    """A ``bench.stub`` upstream on CPU 0 (``pin=False``: wherever the OS likes)."""
    port = free_port()
    args = ("--port", str(port), "--service", service, "--delay-ms", str(delay_ms))
    command = python_module("bench.stub", *args)
    return Process(f"stub-{service}", command, port=port, cpu=LOAD_CPU if pin else None)


def gateway(
    weather: Process,
    joke: Process,
    *,
    transport: str = "shipped",
    settings: Mapping[str, str] | None = None,
    name: str = "gateway",
    pin: bool = True,
    workers: int = 1,
) -> Process:
    """The real gateway on CPU 1; ``transport="aiohttp"`` goes through ``bench.gateway_app``.

    ``workers`` > 1: ``python -m gateway --workers N`` on both cores (N processes on one
    core would measure the core, not the workers); a gateway without the option fails to
    start with its usage error."""
    port = free_port()
    module = "gateway" if transport == "shipped" else "bench.gateway_app"
    args: tuple[str, ...] = ("--host", LOOPBACK, "--port", str(port))
    if workers > 1:
        args += ("--workers", str(workers))
    env = {"WEATHER_URL": weather.url, "JOKE_URL": joke.url, "BENCH_TRANSPORT": transport}
    env.update(settings or {})
    cpu: int | str | None = None
    if pin:
        cpu = SERVER_CPU if workers == 1 else BOTH_CPUS
    return Process(name, python_module(module, *args), port=port, env=env, cpu=cpu)


def naive(weather: Process, joke: Process, threads: int) -> Process:
    """The seed's Flask + requests aggregator: gunicorn, 1 worker, ``threads`` threads."""
    port = free_port()
    command = python_module(
        "gunicorn",
        *("--workers", "1", "--worker-class", "gthread", "--threads", str(threads)),
        *("--bind", f"{LOOPBACK}:{port}", "--log-level", "warning", "bench.naive:create_app()"),
    )
    env = {"WEATHER_URL": weather.url, "JOKE_URL": joke.url}
    return Process(f"naive-t{threads}", command, port=port, env=env, cpu=SERVER_CPU)
