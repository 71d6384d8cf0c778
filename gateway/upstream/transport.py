"""httpx's API over aiohttp's connection pool, with errors as precise as httpx's own.

Why not httpx's default transport: under concurrency httpcore 1.0.9's pool offers the same
idle connection to every queued request and all but one retry (encode/httpcore#1035, open;
encode/httpx#3215), and its pool bookkeeping is costly. Measured here at 50 concurrent
calls to 50 ms stubs (``python -m bench.transport``): httpx's pool 112–379 rps at
2.2–8.2 CPU-ms per call; over aiohttp 900 rps at 0.77 CPU-ms. So the gateway keeps httpx as
its client API and uses ``httpx_aiohttp.AiohttpTransport`` underneath.

That transport maps every ``aiohttp.ClientConnectionError`` to ``httpx.ConnectTimeout``
(a refused connection or a reset mid-body would read as a *timeout*), and lets other
aiohttp errors (a garbage status line) escape as aiohttp's own. ``UpstreamTransport``
re-maps them from the aiohttp cause, so the gateway's error codes stay right.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def _precise(exc: BaseException) -> httpx.TransportError:
    """The httpx error that says what the aiohttp error ``exc`` means."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unreachable, DNS
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # connect, or waiting for the pool
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientPayloadError):  # truncated or undecodable body
        return httpx.ReadError(message)
    # Disconnected, reset, a garbage status line or headers: the peer broke HTTP.
    return httpx.RemoteProtocolError(message)


def _cause(exc: BaseException) -> BaseException:
    cause = exc.__cause__
    return cause if isinstance(cause, aiohttp.ClientError) else exc


class _PreciseStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _precise(_cause(exc)) from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


class UpstreamTransport(AiohttpTransport):
    """``AiohttpTransport`` sized by ``limits``, with precise errors."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        # trust_env=False: upstreams are internal; an HTTP(S)_PROXY meant for the host's
        # outbound traffic must not capture them.
        super().__init__(limits=limits, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _precise(_cause(exc)) from exc
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _PreciseStream(response.stream)
        return response
