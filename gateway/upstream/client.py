"""The two REST services behind the gateway, as typed async calls.

``Upstream.get`` is what ``services`` calls: it answers from the cache when it
can (TTL, in-flight coalescing, a stale answer when the service fails; see ``cache``) and
notes where each answer came from (``extensions.sources``, the log line).

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
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, urlencode

import httpx
from pydantic import BaseModel, ValidationError

from canaduck.inputs import fold
from gateway import context
from gateway.config import GatewaySettings
from gateway.errors import (
    Service,
    UpstreamBadResponse,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.upstream.breaker import CircuitBreaker, CircuitOpen
from gateway.upstream.cache import Cache, CacheResult, Entry
from gateway.upstream.observer import UpstreamObserver
from gateway.upstream.retries import RetryPolicy
from gateway.upstream.transport import (
    AiohttpExchange,
    BrokenAnswer,
    ConnectFailed,
    Exchange,
    HttpxExchange,
    Limits,
    PoolFull,
    TimedOut,
    TransportFailure,
    UpstreamResponse,
)

M = TypeVar("M", bound=BaseModel)

# What a refused connection or an overloaded upstream tells the client to wait.
RETRY_AFTER_SECONDS = 1
URL_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    """An upstream answer and its provenance."""

    response: UpstreamResponse
    cache: CacheResult
    age_seconds: float = 0.0
    # Set when ``cache == "stale"``: the failure the stale answer stands in for.
    stale_cause: UpstreamError | None = None


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How the last call to an upstream went (for readiness and operators)."""

    code: str  # "OK", an error code, or "HTTP_<status>" for an upstream 5xx
    latency_ms: float
    at: float  # wall-clock time.time()


class Upstream:
    """One REST service: its pooled client and the policies around every call."""

    def __init__(
        self,
        service: Service,
        exchange: Exchange,
        base_url: str,
        settings: GatewaySettings,
        observer: UpstreamObserver,
        *,
        model: type[BaseModel],
        cache: Cache,
        cache_ttl_seconds: float,
    ) -> None:
        self.service = service
        self.exchange = exchange
        self.observer = observer
        self.model = model
        self.cache = cache
        self.cache_ttl_seconds = cache_ttl_seconds
        self.cache_max_stale_seconds = settings.cache_max_stale_seconds
        self.timeout_seconds = settings.upstream_timeout_seconds
        self.max_body_bytes = settings.upstream_max_body_bytes
        self.retry = RetryPolicy(
            retries=settings.upstream_retries,
            budget_ratio=settings.upstream_retry_budget_ratio,
            min_remaining_seconds=settings.upstream_retry_min_remaining_seconds,
            on_retry=lambda: observer.retry(service),
        )
        self.breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            cooldown_seconds=settings.breaker_cooldown_seconds,
        )
        self.last: CallOutcome | None = None
        self._base = base_url.rstrip("/")
        self._urls: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], str] = OrderedDict()

    async def get(self, path: str, params: Mapping[str, str]) -> Fetched:
        """GET through the cache. Any HTTP status comes back; failures raise, unless a stale
        answer can stand in for them (then ``Fetched.stale_cause`` says what failed)."""
        started = time.perf_counter()
        if self.cache_ttl_seconds <= 0:
            try:
                fetched = Fetched(await self.fetch(path, params), "off")
            except UpstreamError as exc:
                self._note(exc.code, started, "off")
                raise
            self._note(_status_code(fetched.response), started, "off")
            return fetched
        key = _cache_key(self.service, path, params)
        ttl, max_stale = self.cache_ttl_seconds, self.cache_max_stale_seconds

        async def load() -> tuple[Entry, bool]:
            response = await self.fetch(path, params)
            return _entry(response), response.status_code == 200  # fetch checked its shape

        failure: UpstreamError
        answered: Fetched | None = None  # a 5xx answer, kept in case no stale copy exists
        try:
            lookup = await self.cache.fetch(key, ttl, max_stale, load)
            answered = Fetched(_response(lookup.entry), lookup.result, lookup.age_seconds)
            status = answered.response.status_code
            if status < 500:
                self._note(
                    _status_code(answered.response), started, lookup.result, lookup.age_seconds
                )
                return answered
            failure = error_for_status(self.service, status)
        except UpstreamError as exc:
            failure = exc
        stale = await self.cache.stale(key, ttl, max_stale)
        if stale is not None:
            self._note(failure.code, started, "stale", stale.age_seconds)
            return Fetched(_response(stale.entry), "stale", stale.age_seconds, failure)
        self._note(failure.code, started, "miss")
        if answered is None:
            raise failure
        return answered  # mapped by the caller, like any 5xx

    def is_valid(self, response: UpstreamResponse) -> bool:
        """Does the answer keep this service's contract? A 200 must be JSON of the service's
        shape, an error status must carry JSON (a problem); a redirect, HTML, text or JSON of
        another shape is garbage, however healthy its status looks."""
        if not _is_json(response.content_type):
            return False
        if response.status_code == 200:
            try:
                self.model.model_validate_json(response.content)
            except ValidationError:
                return False
            return True
        if response.status_code < 400:
            return False
        try:
            json.loads(response.content)
        except ValueError:
            return False
        return True

    def _note(
        self, status: str, started: float, cache: CacheResult, age_seconds: float = 0.0
    ) -> None:
        if cache != "off":
            self.observer.cache_event(self.service, cache)
        record = context.current_record()
        if record is not None:
            record.sources[self.service] = {
                "status": status,
                "latencyMs": round((time.perf_counter() - started) * 1000, 1),
                "cache": cache,
                "ageSeconds": round(age_seconds),
            }

    async def fetch(self, path: str, params: Mapping[str, str]) -> UpstreamResponse:
        """GET ``path`` with ``params``, past the cache. Any HTTP status comes back;
        failures raise, and so does an answer outside the contract (see ``is_valid``)."""
        loop = asyncio.get_running_loop()
        # loop.time() drives deadlines; perf_counter() measures (uvloop's clock ticks in ms).
        started = time.perf_counter()
        deadline = loop.time() + self.timeout_seconds
        request_deadline = context.deadline()
        if request_deadline is not None:
            deadline = min(deadline, request_deadline)
        try:
            probe = self.breaker.acquire()
        except CircuitOpen as exc:
            raise UpstreamCircuitOpen(
                self.service, retry_after_seconds=exc.retry_after_seconds
            ) from exc
        try:
            response = await self.retry.run(
                lambda: self._attempt(path, params, deadline),
                deadline=deadline,
                says_try_again=_says_try_again,
            )
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
        elif not self.is_valid(response):
            # Garbage that looks healthy is a failure like any other: it counts toward the
            # breaker, is never cached and never retried (the retry policy has had its say).
            self.breaker.record_failure()
            self._remember(UpstreamBadResponse.code, started)
            status = response.status_code
            raise UpstreamBadResponse(
                self.service, upstream_status=None if status < 300 else status
            )
        else:
            self.breaker.record_success()
            self._remember("OK", started)
        return response

    def _url(self, path: str, params: Mapping[str, str]) -> str:
        """The absolute URL, encoded once per distinct call (the same cities come back all
        day). Client input only ever travels in its encoded query string."""
        key = (path, tuple(params.items()))
        url = self._urls.get(key)
        if url is None:
            query = urlencode(params, quote_via=quote)  # %20 for spaces
            url = f"{self._base}{path}?{query}" if query else f"{self._base}{path}"
            self._urls[key] = url
            if len(self._urls) > URL_CACHE_SIZE:
                self._urls.popitem(last=False)
        else:
            self._urls.move_to_end(key)
        return url

    def _remember(self, code: str, started: float) -> None:
        seconds = time.perf_counter() - started
        self.observer.upstream_call(self.service, code, seconds)
        latency_ms = seconds * 1000
        self.last = CallOutcome(code=code, latency_ms=round(latency_ms, 1), at=time.time())

    async def _attempt(
        self, path: str, params: Mapping[str, str], deadline: float
    ) -> UpstreamResponse:
        rid = context.request_id()
        headers = {"X-Request-ID": rid} if rid else {}
        try:
            async with asyncio.timeout_at(deadline):
                return await self.exchange.get(self._url(path, params), headers)
        except (TimeoutError, TimedOut) as exc:
            raise UpstreamTimeout(self.service) from exc
        except PoolFull as exc:
            raise UpstreamUnavailable(
                self.service,
                retry_after_seconds=RETRY_AFTER_SECONDS,
                detail=f"The gateway is at its limit of calls to the {self.service} service.",
            ) from exc
        except ConnectFailed as exc:
            raise UpstreamUnavailable(
                self.service, retry_after_seconds=RETRY_AFTER_SECONDS
            ) from exc
        except BrokenAnswer as exc:
            # Reset mid-body, protocol garbage, undecodable gzip, oversized body.
            raise UpstreamBadResponse(self.service) from exc

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
                response = await self.exchange.get(f"{self._base}/health", {})
            code = "OK" if response.status_code == 200 else f"HTTP_{response.status_code}"
        except (TimeoutError, TimedOut):
            code = UpstreamTimeout.code
        except TransportFailure:
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


def make_exchange(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> Exchange:
    """A bounded, pooled exchange for one upstream (over ``transport`` in tests); the
    lifespan owns and closes it."""
    limits = Limits(
        max_connections=settings.upstream_max_connections,
        connect_timeout_seconds=settings.upstream_connect_timeout_seconds,
        pool_timeout_seconds=settings.upstream_pool_timeout_seconds,
        read_timeout_seconds=settings.upstream_timeout_seconds,
        max_body_bytes=settings.upstream_max_body_bytes,
    )
    return AiohttpExchange(limits) if transport is None else HttpxExchange(transport, limits)


def _says_try_again(exc: Exception) -> bool:
    """A failure worth one more try: a refused connection (statuses: see retries)."""
    return isinstance(exc, UpstreamUnavailable) and isinstance(exc.__cause__, ConnectFailed)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _status_code(response: UpstreamResponse) -> str:
    return "OK" if response.status_code < 400 else f"HTTP_{response.status_code}"


def _cache_key(service: Service, path: str, params: Mapping[str, str]) -> str:
    # The services match cities case- and accent-insensitively, so "rodez", "Rodez" and
    # "RODEZ" share one entry (the answer names the city the same way for all three).
    parts = [f"{k}={fold(v) if k == 'city' else v}" for k, v in sorted(params.items())]
    return f"{service}:{path}?{'&'.join(parts)}"


def _entry(response: UpstreamResponse) -> Entry:
    return Entry(response.status_code, response.content, response.content_type, time.time())


def _response(entry: Entry) -> UpstreamResponse:
    return UpstreamResponse(entry.status_code, entry.content, entry.content_type)
