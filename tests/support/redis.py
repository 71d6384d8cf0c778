"""The machine's Redis (127.0.0.1:6379) for tests, under a key prefix of each test's own.

A fresh user machine without Redis still passes the suite: these tests skip, saying why.
CI sets CANADUCK_CI=1, which turns that skip into a failure.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from tests.support.prerequisites import require

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def redis_available() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis() -> None:
    require(
        redis_available(),
        f"no Redis answering on {REDIS_HOST}:{REDIS_PORT} (start one to run these tests)",
    )


def delete_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    require_redis()
    prefix = f"canaduck-test-{uuid.uuid4().hex}:"
    yield prefix
    delete_prefix(prefix)
