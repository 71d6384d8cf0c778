"""Operator endpoints: liveness (``/health``), readiness (``/ready``) and ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.dependencies import MetricsDep, UpstreamsDep
from gateway.shedding import Drain
from gateway.upstream.breaker import BreakerState
from gateway.upstream.client import CallOutcome, Upstream

router = APIRouter(tags=["operations"])


def _outcome(outcome: CallOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {"code": outcome.code, "latencyMs": outcome.latency_ms, "at": outcome.at}


async def _report(upstream: Upstream) -> dict[str, Any]:
    probe = await upstream.probe()
    breaker = upstream.breaker.state
    return {
        "usable": probe.code == "OK" and breaker is not BreakerState.OPEN,
        "probe": _outcome(probe),
        "lastCall": _outcome(upstream.last),
        "breaker": breaker.value,
        "consecutiveFailures": upstream.breaker.consecutive_failures,
    }


@router.get("/health", summary="Liveness: the gateway process answers (no upstream call).")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: 200 when at least one upstream is usable and no shutdown has begun.",
    responses={
        503: {
            "description": "No upstream is usable, or the gateway is draining",
            "content": {"application/json": {}},
        }
    },
)
async def ready(upstreams: UpstreamsDep, request: Request) -> JSONResponse:
    drain: Drain | None = getattr(request.state, "drain", None)
    if drain is not None and drain.draining:
        # Shutting down: load balancers must stop routing here now (no probe needed).
        return JSONResponse({"status": "draining"}, status_code=503)
    reports, cache = await asyncio.gather(
        asyncio.gather(*(_report(upstream) for upstream in upstreams)),
        upstreams.cache.health(),
    )
    by_service = {u.service: r for u, r in zip(upstreams, reports, strict=True)}
    usable = any(report["usable"] for report in reports)
    # Partial service is service: a dead joke service still leaves the weather to serve,
    # and a degraded cache (reads miss, writes skipped) still leaves both to call.
    return JSONResponse(
        {
            "status": "ready" if usable else "unavailable",
            "upstreams": by_service,
            "cache": {
                "backend": cache.backend,
                "status": cache.status,
                "breaker": cache.breaker,
                "consecutiveFailures": cache.consecutive_failures,
            },
        },
        status_code=200 if usable else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (scraped on the internal network only).",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
