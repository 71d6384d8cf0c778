"""One GET to an upstream, its body read under a cap: aiohttp in production, httpx in tests.

    Exchange (Protocol) ── get(url, headers) → UpstreamResponse, or a TransportFailure
    ├── AiohttpExchange   aiohttp's ClientSession directly: the gateway's hot path
    └── HttpxExchange     any httpx transport (tests mount the fake services this way)

Why aiohttp directly: measured on this kind of machine (``python -m bench.transport``),
aiohttp's ``ClientSession`` costs about 0.24 CPU-ms per call, httpx over aiohttp's pool
0.77, and httpx's own pool 2.2–8.2 (encode/httpcore#1035, encode/httpx#3215). The Open-Meteo
provider, the tools and the tests keep httpx, whose API serves them.

Both report the same few failures, so ``client`` maps them to the gateway's error tree
without knowing either library. Deadlines are not here: ``client`` wraps every call in one
``asyncio.timeout_at`` that covers connect, body and retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx
from yarl import URL

from gateway.upstream.bodies import ACCEPT_ENCODING, BodyTooLarge, BodyUndecodable, read_capped


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status_code: int
    content: bytes
    content_type: str


class TransportFailure(Exception):
    """The call did not produce a usable HTTP answer."""


class ConnectFailed(TransportFailure):
    """Refused or unreachable (worth one retry: nothing reached the upstream)."""


class PoolFull(TransportFailure):
    """Every connection to the upstream was busy for the whole pool timeout."""


class TimedOut(TransportFailure):
    """No connection within the connect timeout, or the upstream stopped sending."""


class BrokenAnswer(TransportFailure):
    """A reset mid-body, protocol garbage, an undecodable or oversized body."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int
    connect_timeout_seconds: float
    pool_timeout_seconds: float
    read_timeout_seconds: float
    max_body_bytes: int


class Exchange(Protocol):
    async def get(self, url: str, headers: Mapping[str, str]) -> UpstreamResponse: ...

    async def aclose(self) -> None: ...


class AiohttpExchange:
    """Pooled GETs with aiohttp; redirects are never followed, bodies are never inflated
    by aiohttp (``read_capped`` does it within the cap)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        # The pool bound is ours (a semaphore), so "pool full" is told apart from a slow
        # connect; aiohttp's own limit only backs it up.
        self._slots = asyncio.Semaphore(limits.max_connections)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limits.max_connections, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=limits.connect_timeout_seconds,
                sock_read=limits.read_timeout_seconds,
            ),
            auto_decompress=False,
            # Upstreams are internal: a proxy meant for the host's outbound traffic must
            # not capture them.
            trust_env=False,
            skip_auto_headers=("User-Agent",),
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
        self._urls: dict[str, URL] = {}

    async def get(self, url: str, headers: Mapping[str, str]) -> UpstreamResponse:
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = URL(url, encoded=True)  # client.py encoded the query already
            if len(self._urls) < 4096:
                self._urls[url] = parsed
        if self._slots.locked():  # wait for a slot, but not past the pool timeout
            try:
                async with asyncio.timeout(self.limits.pool_timeout_seconds):
                    await self._slots.acquire()
            except TimeoutError as exc:
                raise PoolFull from exc
        else:
            await self._slots.acquire()  # free: no timer to arm
        try:
            async with self._session.get(parsed, headers=headers, allow_redirects=False) as r:
                content = await read_capped(
                    r.content.iter_any(),
                    r.headers.get("Content-Encoding", ""),
                    self.limits.max_body_bytes,
                )
                return UpstreamResponse(
                    r.status, content, r.headers.get("Content-Type", "application/octet-stream")
                )
        except aiohttp.ClientConnectorError as exc:  # refused, unreachable, DNS
            raise ConnectFailed(str(exc)) from exc
        except (aiohttp.ConnectionTimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimedOut(str(exc)) from exc
        except (aiohttp.ClientError, BodyTooLarge, BodyUndecodable) as exc:
            raise BrokenAnswer(str(exc) or type(exc).__name__) from exc
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        await self._session.close()


class HttpxExchange:
    """The same GETs over any httpx transport (the tests' in-process fake services)."""

    def __init__(self, transport: httpx.AsyncBaseTransport, limits: Limits) -> None:
        self.limits = limits
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                limits.read_timeout_seconds,
                connect=limits.connect_timeout_seconds,
                pool=limits.pool_timeout_seconds,
            ),
            follow_redirects=False,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )

    async def get(self, url: str, headers: Mapping[str, str]) -> UpstreamResponse:
        try:
            async with self._client.stream("GET", url, headers=dict(headers)) as response:
                content = await read_capped(
                    response.aiter_raw(),
                    response.headers.get("content-encoding", ""),
                    self.limits.max_body_bytes,
                )
        except httpx.PoolTimeout as exc:
            raise PoolFull from exc
        except httpx.ConnectError as exc:
            raise ConnectFailed(str(exc)) from exc
        except httpx.TimeoutException as exc:
            raise TimedOut(str(exc)) from exc
        except (httpx.HTTPError, BodyTooLarge, BodyUndecodable) as exc:
            raise BrokenAnswer(str(exc) or type(exc).__name__) from exc
        return UpstreamResponse(
            response.status_code,
            content,
            response.headers.get("content-type", "application/octet-stream"),
        )

    async def aclose(self) -> None:
        await self._client.aclose()
