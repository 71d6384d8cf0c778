"""The two REST services behind the gateway, as typed async calls.

``Upstream.fetch`` is the one door to the network. Around every call it applies, in order:
the circuit breaker (fail fast while the service is known to be down), one overall deadline
(the upstream timeout, cut short by the request's own deadline) that covers connect, body
and any retry, at most one narrow retry (see ``retries``), a cap on the *decoded* body size,
no redirects, the request ID forwarded as ``X-Request-ID``. Client input only travels as
encoded query parameters to a fixed base URL from settings. Every httpx failure is
translated into the ``gateway.errors`` tree here, so nothing above knows httpx.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TypeVar

import httpx
import stamina
from pydantic import BaseModel, ValidationError

from gateway import request_scope
from gateway.breaker import CircuitBreaker, CircuitOpen
from gateway.config import GatewaySettings
from gateway.errors import (
    CityNotFound,
    Service,
    UpstreamBadResponse,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.http_pool import UpstreamTransport
from gateway.models import JokePayload, Lang, WeatherReport
from gateway.observability import Metrics
from gateway.retries import RETRYABLE_STATUSES, RetryBudget

M = TypeVar("M", bound=BaseModel)

# What a refused connection or an overloaded upstream tells the client to wait.
RETRY_AFTER_SECONDS = 1
ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status_code: int
    content: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How the last call to an upstream went (for readiness and operators)."""

    code: str  # "OK", an error code, or "HTTP_<status>" for an upstream 5xx
    latency_ms: float
    at: float  # wall-clock time.time()


class _BodyTooLarge(Exception):
    pass


class _RetryableStatus(Exception):
    def __init__(self, response: UpstreamResponse) -> None:
        super().__init__(f"upstream answered {response.status_code}")
        self.response = response


class Upstream:
    """One REST service: its pooled client and the policies around every call."""

    def __init__(
        self,
        service: Service,
        client: httpx.AsyncClient,
        settings: GatewaySettings,
        metrics: Metrics,
    ) -> None:
        self.service = service
        self.client = client
        self.metrics = metrics
        self.timeout_seconds = settings.upstream_timeout_seconds
        self.max_body_bytes = settings.upstream_max_body_bytes
        self.retries = settings.upstream_retries
        self.retry_min_remaining_seconds = settings.upstream_retry_min_remaining_seconds
        self.retry_budget = RetryBudget(ratio=settings.upstream_retry_budget_ratio)
        self.breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            cooldown_seconds=settings.breaker_cooldown_seconds,
        )
        self.last: CallOutcome | None = None

    async def fetch(self, path: str, params: Mapping[str, str]) -> UpstreamResponse:
        """GET ``path`` with ``params``. Any HTTP status comes back; failures raise."""
        loop = asyncio.get_running_loop()
        # loop.time() drives deadlines; perf_counter() measures (uvloop's clock ticks in ms).
        started = time.perf_counter()
        deadline = loop.time() + self.timeout_seconds
        request_deadline = request_scope.deadline()
        if request_deadline is not None:
            deadline = min(deadline, request_deadline)
        try:
            probe = self.breaker.acquire()
        except CircuitOpen as exc:
            raise UpstreamCircuitOpen(
                self.service, retry_after_seconds=exc.retry_after_seconds
            ) from exc
        try:
            response = await self._fetch_with_retry(path, params, deadline)
        except UpstreamError as exc:
            self.breaker.record_failure()
            self._remember(exc.code, started)
            raise
        except BaseException:
            self.breaker.release(probe)
            raise
        if response.status_code >= 500:
            self.breaker.record_failure()
            self._remember(f"HTTP_{response.status_code}", started)
        else:
            self.breaker.record_success()
            self._remember("OK", started)
        return response

    def _remember(self, code: str, started: float) -> None:
        seconds = time.perf_counter() - started
        self.metrics.upstream_call(self.service, code, seconds)
        latency_ms = seconds * 1000
        self.last = CallOutcome(code=code, latency_ms=round(latency_ms, 1), at=time.time())

    async def _fetch_with_retry(
        self, path: str, params: Mapping[str, str], deadline: float
    ) -> UpstreamResponse:
        self.retry_budget.record_call()
        loop = asyncio.get_running_loop()

        def may_retry(exc: Exception) -> bool:
            says_retry = isinstance(exc, _RetryableStatus) or (
                isinstance(exc, UpstreamUnavailable)
                and isinstance(exc.__cause__, httpx.ConnectError)
            )
            granted = (
                says_retry
                and deadline - loop.time() >= self.retry_min_remaining_seconds
                and self.retry_budget.try_spend()
            )
            if granted:
                self.metrics.retry(self.service)
            return granted

        try:
            # 1 retry after 50–150 ms (jittered); stamina stops early when may_retry says no.
            async for attempt in stamina.retry_context(
                on=may_retry,
                attempts=1 + self.retries,
                timeout=None,
                wait_initial=0.05,
                wait_max=0.15,
                wait_jitter=0.1,
            ):
                with attempt:
                    response = await self._attempt(path, params, deadline)
                    if response.status_code in RETRYABLE_STATUSES:
                        raise _RetryableStatus(response)
                    return response
        except _RetryableStatus as exc:
            return exc.response  # the last answer stands; callers map its status
        raise AssertionError("stamina ended without an attempt")  # pragma: no cover

    async def _attempt(
        self, path: str, params: Mapping[str, str], deadline: float
    ) -> UpstreamResponse:
        rid = request_scope.request_id()
        headers = {"X-Request-ID": rid} if rid else None
        try:
            async with asyncio.timeout_at(deadline):
                async with self.client.stream(
                    "GET", path, params=params, headers=headers
                ) as response:
                    content = await self._read_capped(response)
        except TimeoutError as exc:
            raise UpstreamTimeout(self.service) from exc
        except httpx.PoolTimeout as exc:
            raise UpstreamUnavailable(
                self.service,
                retry_after_seconds=RETRY_AFTER_SECONDS,
                detail=f"The gateway is at its limit of calls to the {self.service} service.",
            ) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(self.service) from exc
        except httpx.ConnectError as exc:
            raise UpstreamUnavailable(
                self.service, retry_after_seconds=RETRY_AFTER_SECONDS
            ) from exc
        except (httpx.HTTPError, _BodyTooLarge) as exc:
            # Reset mid-body, protocol garbage, undecodable gzip, oversized body.
            raise UpstreamBadResponse(self.service) from exc
        return UpstreamResponse(
            status_code=response.status_code,
            content=content,
            content_type=response.headers.get("content-type", "application/octet-stream"),
        )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        # We inflate the raw bytes ourselves, never more than the cap + 1 byte at a time:
        # httpx's decoder inflates each 64 KiB network read in one call (a gzip bomb turns
        # it into 64 MiB, blocking the event loop while it does), and checks no size
        # (encode/httpx _decoders.py GZipDecoder.decode). The cap applies to decoded bytes.
        inflater = _inflater(response.headers.get("content-encoding", ""))
        chunks: list[bytes] = []
        size = 0
        async for raw in response.aiter_raw():
            pending = raw
            while pending:  # each turn either empties `pending` or grows `size`
                if inflater is None:
                    chunk, pending = pending, b""
                else:
                    try:
                        chunk = inflater.decompress(pending, self.max_body_bytes - size + 1)
                    except zlib.error as exc:
                        raise httpx.DecodingError(str(exc)) from exc
                    pending = inflater.unconsumed_tail
                size += len(chunk)
                if size > self.max_body_bytes:
                    # The traceback keeps this frame alive until a GC pass: not the body too.
                    chunks.clear()
                    del chunk, pending, raw
                    raise _BodyTooLarge(f"body over {self.max_body_bytes} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    def parse(self, response: UpstreamResponse, model: type[M]) -> M:
        """A 200 JSON answer as ``model``; any other answer raises."""
        if response.status_code != 200:
            raise error_for_status(self.service, response.status_code)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise UpstreamBadResponse(self.service) from exc

    async def probe(self, timeout_seconds: float = 1.0) -> CallOutcome:
        """One cheap GET /health, outside the breaker and retries (for readiness)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_seconds):
                response = await self.client.get("/health")
            code = "OK" if response.status_code == 200 else f"HTTP_{response.status_code}"
        except TimeoutError:
            code = UpstreamTimeout.code
        except httpx.HTTPError:
            code = UpstreamUnavailable.code
        latency_ms = (time.perf_counter() - started) * 1000
        return CallOutcome(code=code, latency_ms=round(latency_ms, 1), at=time.time())


def error_for_status(service: Service, status: int) -> UpstreamError:
    """The error that an unusable upstream status stands for."""
    if status in (429, 503):
        return UpstreamUnavailable(
            service, upstream_status=status, retry_after_seconds=RETRY_AFTER_SECONDS
        )
    if status == 504:
        return UpstreamTimeout(service, upstream_status=status)
    return UpstreamBadResponse(service, upstream_status=status)


class Upstreams:
    """The weather and joke services, as the rest of the gateway sees them."""

    def __init__(self, weather: Upstream, joke: Upstream) -> None:
        self.weather = weather
        self.joke = joke

    def __iter__(self) -> Iterator[Upstream]:
        return iter((self.weather, self.joke))

    @classmethod
    async def open(
        cls,
        stack: AsyncExitStack,
        settings: GatewaySettings,
        transports: Mapping[Service, httpx.AsyncBaseTransport],
        metrics: Metrics,
    ) -> Upstreams:
        """Both upstreams with their clients; ``stack`` closes the clients."""

        async def upstream(service: Service, base_url: str) -> Upstream:
            client = make_client(base_url, settings, transports.get(service))
            await stack.enter_async_context(client)
            return Upstream(service, client, settings, metrics)

        return cls(
            weather=await upstream("weather", str(settings.weather_url)),
            joke=await upstream("joke", str(settings.joke_url)),
        )

    async def weather_report(
        self, city: str, lang: Lang, country: str | None = None
    ) -> WeatherReport:
        params = {"city": city, "lang": lang.value}
        if country is not None:
            params["country"] = country
        response = await self.weather.fetch("/weather", params)
        if response.status_code == 404 and _problem_code(response) == CityNotFound.code:
            raise CityNotFound(city)
        return self.weather.parse(response, WeatherReport)

    async def random_joke(self, lang: Lang) -> JokePayload:
        response = await self.joke.fetch("/joke", {"lang": lang.value})
        return self.joke.parse(response, JokePayload)


class _Problem(BaseModel):
    code: str | None = None


def _problem_code(response: UpstreamResponse) -> str | None:
    try:
        return _Problem.model_validate_json(response.content).code
    except ValidationError:
        return None


def _inflater(content_encoding: str) -> zlib._Decompress | None:
    """A bounded decoder for the body, or None when it is not encoded."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    # Only the encodings we ask for (ACCEPT_ENCODING) can be read within the cap.
    raise httpx.DecodingError(f"unsupported content-encoding {encoding!r}")


def make_client(
    base_url: str, settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A bounded, pooled client for one upstream; the lifespan owns and closes it."""
    limits = httpx.Limits(
        max_connections=settings.upstream_max_connections,
        max_keepalive_connections=settings.upstream_max_connections,
    )
    timeout = httpx.Timeout(
        settings.upstream_timeout_seconds,
        connect=settings.upstream_connect_timeout_seconds,
        pool=settings.upstream_pool_timeout_seconds,
    )
    return httpx.AsyncClient(
        base_url=base_url,
        limits=limits,
        timeout=timeout,
        follow_redirects=False,
        # Only what _read_capped can inflate within the body cap (httpx would add br and
        # zstd whenever their packages happen to be installed).
        headers={"Accept-Encoding": ACCEPT_ENCODING},
        # httpcore's own pool churns under concurrency (see http_pool).
        transport=transport or UpstreamTransport(limits=limits),
    )
