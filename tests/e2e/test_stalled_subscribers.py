"""Subscribers that stop reading altogether: the gateway lets go of them, memory stays flat.

Each stalled client is a raw socket with a small receive buffer: it completes the WebSocket
handshake, subscribes, and never reads again (not even its TCP buffer), while the stub's
temperature changes twice a second. The gateway's process is watched from outside: its
connections to those clients must end, and its resident memory must not grow with them.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator

import psutil
import pytest

from tests.e2e.live import WEATHER, live_gateway
from tests.support.processes import LOOPBACK, ServiceProcess, StubProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

STALLED = 200
IDLE_TIMEOUT_SECONDS = 2.0
# The idle timeout, then the close handshake the stalled peer never answers (the WebSocket
# library gives up on it after its close timeout), with room for a busy machine.
LET_GO_WITHIN_SECONDS = 40.0
MAX_GROWTH_MIB = 40


def frame(message: dict[str, object]) -> bytes:
    """One masked text frame, as a client must send it (RFC 6455 section 5.3)."""
    payload = json.dumps(message).encode()
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    if len(payload) < 126:
        header = bytes([0x81, 0x80 | len(payload)])
    else:
        header = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    return header + mask + masked


def stalled_subscriber(port: int) -> socket.socket:
    """A client that handshakes, subscribes, and then never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((LOOPBACK, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /graphql HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "the gateway closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.sendall(frame({"type": "connection_init"}))
    sock.sendall(frame({"id": "1", "type": "subscribe", "payload": {"query": WEATHER % "Rodez"}}))
    return sock


def client_connections(gateway: ServiceProcess) -> int:
    """Established connections the gateway holds on its port."""
    process = psutil.Process(gateway.pid)
    return sum(
        1
        for conn in process.net_connections(kind="tcp")
        if conn.laddr and conn.laddr.port == gateway.port and conn.status == "ESTABLISHED"
    )


def rss_mib(gateway: ServiceProcess) -> float:
    return float(psutil.Process(gateway.pid).memory_info().rss) / 2**20


@pytest.fixture
def gateway(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[ServiceProcess]:
    weather_stub.reset()
    with live_gateway(
        weather_stub,
        joke_stub,
        live_ping_seconds=0.5,
        live_idle_timeout_seconds=IDLE_TIMEOUT_SECONDS,
        live_queue_size=4,
    ) as process:
        yield process
    weather_stub.reset()


def test_stalled_subscribers_are_let_go_and_memory_stays_bounded(
    gateway: ServiceProcess, weather_stub: StubProcess
) -> None:
    """200 clients that stop reading are all disconnected, and the gateway's memory grows
    by less than a few tens of MiB meanwhile."""
    baseline = rss_mib(gateway)
    sockets = [stalled_subscriber(gateway.port) for _ in range(STALLED)]
    try:
        peak = baseline
        started = time.monotonic()
        temperature = 10.0
        while client_connections(gateway) > 0:
            elapsed = time.monotonic() - started
            assert elapsed < LET_GO_WITHIN_SECONDS, f"{client_connections(gateway)} still held"
            temperature += 0.5
            weather_stub.set_mode("healthy", temperature=temperature)
            peak = max(peak, rss_mib(gateway))
            time.sleep(0.5)
        let_go_after = time.monotonic() - started
        after = rss_mib(gateway)
    finally:
        for sock in sockets:
            sock.close()
    print(
        f"\n{STALLED} stalled subscribers: all let go after {let_go_after:.1f} s; "
        f"RSS {baseline:.1f} MiB -> peak {peak:.1f} MiB -> {after:.1f} MiB"
    )
    assert peak - baseline < MAX_GROWTH_MIB
