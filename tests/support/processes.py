"""Real service processes on loopback ports, for end-to-end tests.

Every wait here is bounded in time; a process that does not come up is killed and its
output shown in the failure, so a broken start never hangs the suite.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

LOOPBACK = "127.0.0.1"
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    """One ``python -m <module> --port N`` process and how to reach it."""

    module: str
    port: int
    env: Mapping[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    health_path: str = "/health"
    process: subprocess.Popen[bytes] | None = None
    _log: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.module} was never started"
        return self.process.pid

    def start(self) -> ServiceProcess:
        # Lives until close(): the process writes to it for its whole life.
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"{self.module}-", suffix=".log"
        )
        command = [
            sys.executable,
            "-m",
            self.module,
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            *self.args,
        ]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.module} exited early:\n{self.output()}")
            try:
                if httpx.get(self.url + self.health_path, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"{self.module} not healthy after {START_TIMEOUT_SECONDS}s:\n{self.output()}"
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not leave within the stop timeout."""
        if self.process is not None:
            terminate(self.process)

    def output(self) -> str:
        if self._log is None:
            return ""
        return Path(self._log.name).read_text(errors="replace")[-4000:]

    def close(self) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()


def terminate(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM, then SIGKILL if ``process`` does not leave within ``timeout``."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@contextmanager
def running(
    module: str, *, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[ServiceProcess]:
    """Start ``module`` on a free port, yield it once healthy, always stop it."""
    service = ServiceProcess(module, free_port(), dict(env or {}), args)
    try:
        yield service.start()
    finally:
        service.close()


@dataclass
class StubProcess(ServiceProcess):
    """A ``tests.support.stub_upstream`` process: the service port plus its control port."""

    control_port: int = 0
    _control: httpx.Client | None = None

    @property
    def control_url(self) -> str:
        return f"http://{LOOPBACK}:{self.control_port}"

    @property
    def control(self) -> httpx.Client:
        # One kept-alive client: a new one per call would cost more than the call.
        if self._control is None:
            self._control = httpx.Client(base_url=self.control_url, timeout=5.0)
        return self._control

    def set_mode(self, mode: str, **params: object) -> None:
        """Switch the fault (see the stub's module docstring for modes and parameters)."""
        self.control.post("/__control", json={"mode": mode, **params}).raise_for_status()

    def stats(self) -> dict[str, Any]:
        """What the stub has seen since the last reset: calls, queries, connections."""
        response = self.control.get("/__stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def reset(self) -> None:
        """Healthy again, with nothing counted."""
        self.set_mode("healthy")
        self.control.post("/__reset").raise_for_status()

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
        super().close()


@contextmanager
def running_stub(service: str) -> Iterator[StubProcess]:
    """A stub upstream for ``service`` ("weather" or "joke"), healthy, on free ports."""
    port, control_port = free_port(), free_port()
    for _ in range(10):  # the OS rarely hands out the same free port twice in a row
        if control_port != port:
            break
        control_port = free_port()
    args = ("--service", service, "--control-port", str(control_port))
    stub = StubProcess("tests.support.stub_upstream", port, args=args, control_port=control_port)
    try:
        stub.start()
        yield stub
    finally:
        stub.close()


def gateway_env(
    weather: ServiceProcess, joke: ServiceProcess, **settings: object
) -> dict[str, str]:
    """Environment for a gateway over these upstreams; ``settings`` become GATEWAY_<NAME>."""
    env = {"WEATHER_URL": weather.url, "JOKE_URL": joke.url}
    env.update({f"GATEWAY_{name.upper()}": str(value) for name, value in settings.items()})
    return env
