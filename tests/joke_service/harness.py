"""The joke service run in-process, and a way to list every joke it serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

# Far above the ~250 seeded jokes; only there so a broken 404 cannot loop forever.
MAX_WALKED_IDS = 10_000


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield a client that talks to it in-process."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://jokes.test"
        ) as client,
    ):
        yield client


async def all_jokes(client: httpx.AsyncClient) -> dict[int, tuple[str, str]]:
    """Every joke as ``{id: (lang, text)}``, fetching ids 1, 2, ... up to the first 404."""
    jokes: dict[int, tuple[str, str]] = {}
    for joke_id in range(1, MAX_WALKED_IDS):
        response = await client.get(f"/jokes/{joke_id}")
        if response.status_code == 404:
            return jokes
        body = response.json()
        jokes[body["id"]] = (body["lang"], body["joke"])
    raise AssertionError(f"no 404 in the first {MAX_WALKED_IDS} ids")


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    """``response`` is RFC 9457 problem JSON with this status and ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["detail"]
