"""One poll of a live key, through the same cache and coalescing path as any query.

The poll runs outside any request (see ``hub``), so it sets a request record of its own
to collect the provenance ``Upstream.get`` notes (``extensions.sources``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel

from gateway.context import RequestRecord, _record
from gateway.errors import ApiError, Service
from gateway.live.snapshot import LiveKey, Reading, Snapshot, error_shape
from gateway.upstream.models import WeatherReport
from gateway.upstream.services import Answer, Upstreams

logger = logging.getLogger("gateway.live")

M = TypeVar("M", bound=BaseModel)

# A cached weather reading about to expire is read again just after it does, so that a
# later poll lands on a fresh answer even when the poll interval equals the cache TTL.
EXPIRY_MARGIN_SECONDS = 0.05


async def _read(
    service: Service, call: Callable[[], Awaitable[Answer[M]]], record: RequestRecord
) -> tuple[Reading, Answer[M] | None]:
    try:
        answer = await call()
    except ApiError as exc:
        return Reading(error=error_shape(exc), source=record.sources.get(service, {})), None
    except Exception:  # a bug must not stop the poller: report it like a masked error
        logger.exception("live.poll.crashed service=%s", service)
        shape = {"message": "Unexpected error.", "extensions": {"code": "INTERNAL_ERROR"}}
        return Reading(error=shape, source=record.sources.get(service, {})), None
    stale = answer.stale_error
    reading = Reading(
        value=answer.value.model_dump(mode="json"),
        stale=error_shape(stale) if stale is not None else None,
        source=dict(record.sources.get(service, {})),
    )
    return reading, answer


async def poll(
    upstreams: Upstreams,
    key: LiveKey,
    city: str,
    previous: Snapshot | None,
    *,
    joke_seconds: float,
    refresh_seconds: float,
    weather_ttl_seconds: float,
) -> Snapshot:
    """Read the weather (and the joke when it is due) for ``key``; never raises."""
    record = RequestRecord()
    token = _record.set(record)
    try:
        now = time.time()
        reuse_joke = previous is not None and previous.joke.value is not None
        if previous is not None and now - previous.joke_at >= joke_seconds:
            reuse_joke = False

        def weather_call() -> Awaitable[Answer[WeatherReport]]:
            return upstreams.weather_report(city, key.lang, key.country)

        async def weather() -> Reading:
            reading, answer = await _read("weather", weather_call, record)
            # A feed's first reading goes out at once, cached or not: a new screen must
            # not wait for the cache entry to expire. Later polls skip an expiring entry.
            first = previous is None
            if not first and answer is not None and answer.fetched.cache in ("hit", "coalesced"):
                remaining = weather_ttl_seconds - answer.fetched.age_seconds
                if 0 < remaining < refresh_seconds:
                    await asyncio.sleep(remaining + EXPIRY_MARGIN_SECONDS)
                    reading, _ = await _read("weather", weather_call, record)
            return reading

        async def joke() -> Reading:
            if reuse_joke and previous is not None:
                return previous.joke
            reading, _ = await _read("joke", lambda: upstreams.random_joke(key.lang), record)
            return reading

        weather_reading, joke_reading = await asyncio.gather(weather(), joke())
        joke_at = previous.joke_at if reuse_joke and previous is not None else now
        return Snapshot(weather_reading, joke_reading, joke_at, time.time())
    finally:
        _record.reset(token)
