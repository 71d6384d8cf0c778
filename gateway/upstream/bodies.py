"""Reading an upstream body without letting it grow the gateway's memory.

The cap applies to *decoded* bytes, and the decoding itself is bounded: we inflate the raw
bytes ourselves, never more than the cap + 1 byte at a time. httpx's own decoder inflates
each 64 KiB network read in one call with no size check (encode/httpx ``_decoders.py``,
``GZipDecoder.decode``), so a gzip bomb would turn every read into 64 MiB and block the
event loop while it did.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable

# Only what read_capped can inflate within the cap (httpx would add br and zstd whenever
# their packages happen to be installed).
ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    pass


class BodyUndecodable(Exception):
    """A Content-Encoding we do not speak, or bytes that do not inflate."""


def _inflater(content_encoding: str) -> zlib._Decompress | None:
    """A bounded decoder for the body, or None when it is not encoded."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise BodyUndecodable(f"unsupported content-encoding {encoding!r}")


async def read_capped(
    raw_chunks: AsyncIterable[bytes], content_encoding: str, max_bytes: int
) -> bytes:
    """The decoded body of a streamed response (its raw, still encoded chunks);
    :class:`BodyTooLarge` beyond ``max_bytes``."""
    inflater = _inflater(content_encoding)
    chunks: list[bytes] = []
    size = 0
    async for raw in raw_chunks:
        pending = raw
        while pending:  # each turn either empties `pending` or grows `size`
            if inflater is None:
                chunk, pending = pending, b""
            else:
                try:
                    chunk = inflater.decompress(pending, max_bytes - size + 1)
                except zlib.error as exc:
                    raise BodyUndecodable(str(exc)) from exc
                pending = inflater.unconsumed_tail
            size += len(chunk)
            if size > max_bytes:
                # The traceback keeps this frame alive until a GC pass: not the body too.
                chunks.clear()
                del chunk, pending, raw
                raise BodyTooLarge(f"body over {max_bytes} bytes")
            chunks.append(chunk)
    return b"".join(chunks)
