"""Typed FastAPI dependencies, shared by both front doors (so overrides reach both)."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from gateway.config import GatewaySettings
from gateway.observability.metrics import Metrics
from gateway.upstream.services import Upstreams


class State(TypedDict):
    """What the lifespan hands to every request (``request.state``)."""

    settings: GatewaySettings
    upstreams: Upstreams
    metrics: Metrics


# async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
# HTTPConnection: GraphQL's WebSocket route (subscriptions) needs the upstreams as well.
async def get_upstreams(request: HTTPConnection) -> Upstreams:
    upstreams: Upstreams = request.state.upstreams
    return upstreams


UpstreamsDep = Annotated[Upstreams, Depends(get_upstreams)]


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]
