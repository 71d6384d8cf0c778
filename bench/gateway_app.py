"""The real gateway over an httpx transport instead of its own aiohttp client (bench only).

    BENCH_TRANSPORT=aiohttp|httpx-stock python -m bench.gateway_app --port N

``create_app`` takes per-upstream httpx transports (the seam tests use), so the bench can
compare the shipped client (aiohttp's ``ClientSession`` directly, ``BENCH_TRANSPORT=shipped``)
with httpx over ``httpx_aiohttp.AiohttpTransport`` (``aiohttp``, what the gateway used
before) or httpx's own pool (``httpx-stock``): same settings, same policies around every
call, only the connection layer differs. Needs ``pip install httpx-aiohttp`` for ``aiohttp``.
"""

from __future__ import annotations

import os

import httpx
from fastapi import FastAPI

from canaduck.cli import serve
from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway

# shipped: the gateway as it is; httpx-stock: httpx's own transport and httpcore pool;
# aiohttp: httpx over httpx_aiohttp.AiohttpTransport.
TRANSPORTS = ("shipped", "httpx-stock", "aiohttp")


def create_app() -> FastAPI:
    transport = os.environ.get("BENCH_TRANSPORT", "shipped")
    if transport not in TRANSPORTS:
        raise ValueError(f"BENCH_TRANSPORT must be one of {TRANSPORTS}, not {transport!r}")
    settings = GatewaySettings()
    if transport == "shipped":
        return create_gateway(settings)
    # The same pool bound the gateway gives httpx (a custom transport ignores the client's).
    size = settings.upstream_max_connections
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    if transport == "httpx-stock":
        return create_gateway(
            settings,
            transports={
                "weather": httpx.AsyncHTTPTransport(limits=limits),
                "joke": httpx.AsyncHTTPTransport(limits=limits),
            },
        )
    from httpx_aiohttp import AiohttpTransport  # optional: pip install httpx-aiohttp

    return create_gateway(
        settings,
        transports={
            "weather": AiohttpTransport(limits=limits),
            "joke": AiohttpTransport(limits=limits),
        },
    )


def main() -> None:
    serve(
        name="gateway",
        app_factory="bench.gateway_app:create_app",
        default_port=8000,
        description="The gateway with BENCH_TRANSPORT=httpx|aiohttp under its clients.",
        access_log=False,
    )


if __name__ == "__main__":
    main()
