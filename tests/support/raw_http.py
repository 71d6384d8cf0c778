"""Just enough HTTP/1.1 over asyncio streams for a stub server that misbehaves on purpose.

No framework in between, so a caller controls every byte and every close: what it writes,
when, and whether the connection ends with a FIN or a reset. Every wait is bounded by
``MAX_HOLD_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

MAX_HOLD_SECONDS = 60.0  # the longest a connection is held without progress
MIB = 1024 * 1024
CHUNK = 64 * 1024
BOMB_INFLATED_BYTES = 1024 * MIB


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on a connection, or None once the peer has closed it."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), MAX_HOLD_SECONDS)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), MAX_HOLD_SECONDS)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, TimeoutError):
        return None
    return Request(method, target, headers, body)


async def peer_closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Wait up to ``seconds``; True as soon as the peer closes (EOF or reset)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            data = await asyncio.wait_for(reader.read(CHUNK), left)
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        if not data:  # httpx never pipelines, so data here is only ever EOF
            return True
    return False


def head(status: int, headers: list[tuple[str, str]], length: int) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response(status: int, body: bytes, content_type: str, *extra: tuple[str, str]) -> bytes:
    return head(status, [("Content-Type", content_type), *extra], len(body)) + body


def as_json(status: int, document: object, content_type: str = "application/json") -> bytes:
    return response(status, json.dumps(document).encode(), content_type)


def gzip_bomb(inflated_bytes: int = BOMB_INFLATED_BYTES) -> bytes:
    """A valid gzip member of ``inflated_bytes`` zeros, built without inflating it here."""
    block = bytes(MIB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    # After a full flush the compressor restarts from a clean state, so every further
    # MiB of zeros compresses to the very same bytes: compress two, repeat the second.
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated_bytes // MIB):
        crc = zlib.crc32(block, crc)
    final_empty_block = b"\x03\x00"
    trailer = struct.pack("<II", crc, inflated_bytes & 0xFFFFFFFF)
    count = inflated_bytes // MIB
    return first + repeat * (count - 1) + final_empty_block + trailer


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset instead of a clean FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
