"""Subscription streams through Traefik: WebSocket and SSE on /graphql reach the gateway by a
router of their own, with no buffering middleware in front of them (a buffered event stream
never reaches the client). Each check also runs on a broken copy, to prove it would catch it."""

from __future__ import annotations

import pytest

from tests.deploy.rules import Request
from tests.deploy.stack import MutableFiles, Stack, listening_port

PUBLIC_ENTRYPOINT = "web"

STREAMS = {
    "sse": {"Accept": "text/event-stream"},
    "sse-among-others": {"Accept": "application/json, text/event-stream;q=0.9"},
    "websocket": {"Connection": "Upgrade", "Upgrade": "websocket"},
    "websocket-capitalised": {"Connection": "Upgrade", "Upgrade": "WebSocket"},
}
PLAIN = {
    "json": {"Accept": "application/json"},
    "graphql-response": {"Accept": "application/graphql-response+json"},
    "none": {},
}


def middleware_kinds(stack: Stack, headers: dict[str, str], target: str = "/graphql") -> list[str]:
    """The middleware types applied to a request, by the router Traefik would choose."""
    [router] = stack.chosen_routers(Request.get(target, headers=headers), PUBLIC_ENTRYPOINT)
    return [kind for config in stack.applied_middlewares(router).values() for kind in config or {}]


@pytest.mark.parametrize("headers", STREAMS.values(), ids=STREAMS.keys())
def test_a_stream_bypasses_request_buffering(stack: Stack, headers: dict[str, str]) -> None:
    """SSE and WebSocket requests to /graphql get headers and limits, but no buffering."""
    kinds = middleware_kinds(stack, headers)
    assert "buffering" not in kinds
    assert kinds == ["headers", "ratelimit", "inflightreq"]


@pytest.mark.parametrize("headers", STREAMS.values(), ids=STREAMS.keys())
def test_a_stream_lands_on_the_gateway(stack: Stack, headers: dict[str, str]) -> None:
    """The stream router sends to the gateway's own port, like the public router."""
    [router] = stack.chosen_routers(Request.get("/graphql", headers=headers), PUBLIC_ENTRYPOINT)
    backend = stack.backend(router.service)
    assert backend is not None
    port = listening_port(stack.service("gateway"))
    assert (backend.container, backend.port) == ("gateway", port)


@pytest.mark.parametrize("headers", PLAIN.values(), ids=PLAIN.keys())
def test_a_plain_graphql_request_keeps_the_body_limit(
    stack: Stack, headers: dict[str, str]
) -> None:
    """Queries over HTTP still go through the buffering body limit and in-flight limit."""
    assert middleware_kinds(stack, headers) == [
        "headers",
        "ratelimit",
        "inflightreq",
        "buffering",
    ]


def test_streams_are_limited_apart_from_requests(stack: Stack) -> None:
    """The stream router's concurrency limit is its own, per client address."""
    [router] = stack.chosen_routers(
        Request.get("/graphql", headers=STREAMS["sse"]), PUBLIC_ENTRYPOINT
    )
    limits = [
        config["inflightreq"]
        for config in stack.applied_middlewares(router).values()
        if config and "inflightreq" in config
    ]
    [limit] = limits
    assert int(limit["amount"]) > 0
    assert int(limit["sourcecriterion"]["ipstrategy"].get("depth", 0)) == 0


def test_only_graphql_streams_take_the_stream_router(stack: Stack) -> None:
    """An event-stream Accept on another path is an ordinary (buffered) request."""
    assert "buffering" in middleware_kinds(stack, STREAMS["sse"], target="/fullinfo")
    assert (
        stack.chosen_routers(
            Request.get("/graphql/extra", headers=STREAMS["websocket"]), PUBLIC_ENTRYPOINT
        )
        == []
    )


# ---------------------------------------------------------------- the checks catch mistakes


def test_a_stream_router_without_its_priority_is_caught(mutable: MutableFiles) -> None:
    """Without the explicit priority, the longer public rule wins and buffers the stream."""
    labels = mutable.compose["services"]["gateway"]["labels"]
    mutable.compose["services"]["gateway"]["labels"] = [
        label for label in labels if "gateway-streams.priority" not in label
    ]
    assert "buffering" in middleware_kinds(mutable.stack(), STREAMS["sse"])


def test_buffering_added_to_the_stream_router_is_caught(mutable: MutableFiles) -> None:
    """A body limit slipped into the stream router shows up in its middlewares."""
    mutable.set_label(
        "gateway",
        "traefik.http.routers.gateway-streams.middlewares",
        "security-headers@file,rate-limit@file,stream-limit@file,body-limit@file",
    )
    assert "buffering" in middleware_kinds(mutable.stack(), STREAMS["websocket"])
