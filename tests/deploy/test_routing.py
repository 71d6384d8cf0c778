"""Traefik's routing, derived from the compose labels and traefik/: what is public, and where
it lands. Each check is also run on a broken copy, to prove it would catch the mistake."""

from __future__ import annotations

import pytest

from tests.deploy.rules import Request
from tests.deploy.stack import (
    Config,
    MutableFiles,
    Stack,
    listening_port,
    private_routing_problems,
    public_routing_problems,
)

PUBLIC_ENTRYPOINT = "web"
DASHBOARD_ENTRYPOINT = "dashboard"

# The gateway's public surface: GraphQL, the seed's REST routes, the display page and the
# static files (GraphiQL's vendored bundle among them).
PUBLIC_TARGETS = [
    "/graphql",
    "/fullinfo?city=Rodez",
    "/weather?city=x",
    "/joke",
    "/joke?lang=en",
    "/display",
    "/static/vendor/graphiql@3.8.3/graphiql.min.js",
]

# Served by some container, but never from outside.
PRIVATE_TARGETS = [
    "/",
    "/health",
    "/ready",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/weatherx",
    "/jokes/1",
    "/graphql/extra",
    "/subgraph/graphql",  # the federation subgraph: for a router on a private network
    "/subgraph/graphql/",
    "/static",
    "/ping",
    "/dashboard/",
    "/api/rawdata",
]


@pytest.mark.parametrize("target", PUBLIC_TARGETS)
def test_public_path_reaches_the_gateway_through_one_router(stack: Stack, target: str) -> None:
    """Each public path is taken by exactly one router on :80, to the gateway's own port."""
    assert (
        public_routing_problems(stack, [target], entrypoint=PUBLIC_ENTRYPOINT, container="gateway")
        == []
    )


def test_public_routes_land_on_port_8000(stack: Stack) -> None:
    """The port Traefik sends to is the gateway's 8000, the port its command listens on."""
    [router] = stack.routers_for(Request.get("/graphql"), PUBLIC_ENTRYPOINT)
    backend = stack.backend(router.service)
    assert backend is not None
    assert (backend.container, backend.port) == ("gateway", 8000)
    assert listening_port(stack.service("gateway")) == 8000


@pytest.mark.parametrize("target", PRIVATE_TARGETS)
def test_private_path_is_not_routed_on_the_public_entrypoint(stack: Stack, target: str) -> None:
    """Health, metrics, docs, the dashboard and the internal services' paths get a 404."""
    assert private_routing_problems(stack, [target], entrypoint=PUBLIC_ENTRYPOINT) == []


def test_internal_services_cannot_be_reached_by_host_name(stack: Stack) -> None:
    """No router on :80 takes a request aimed at weather, jokes or redis by Host header."""
    for name in ("weather", "jokes", "redis", "socket-proxy"):
        for host in (name, f"{name}-canaduck", f"{name}.localhost"):
            for target in ("/", "/weather?city=x", "/joke"):
                matched = stack.routers_for(Request.get(target, host=host), PUBLIC_ENTRYPOINT)
                assert all(router.container == "gateway" for router in matched), (host, target)


def test_only_the_gateway_and_traefik_opt_in(stack: Stack) -> None:
    """Only the gateway (public) and Traefik (its dashboard) carry traefik.enable=true."""
    assert sorted(stack.enabled_containers()) == ["gateway", "traefik"]


def test_public_entrypoint_routes_only_to_the_gateway(stack: Stack) -> None:
    """Every router listening on :80 sends to the gateway; nothing else is public."""
    on_web = [r for r in stack.routers() if PUBLIC_ENTRYPOINT in stack.effective_entrypoints(r)]
    assert on_web, "no public router at all"
    for router in on_web:
        backend = stack.backend(router.service)
        assert backend is not None, router
        assert backend.container == "gateway", router


def test_dashboard_router_is_private_and_authenticated(stack: Stack) -> None:
    """Traefik's API is routed only on the dashboard entrypoint, behind basic auth."""
    internal = [r for r in stack.routers() if r.service == "api@internal"]
    assert internal, "no dashboard router"
    for router in internal:
        assert stack.effective_entrypoints(router) == (DASHBOARD_ENTRYPOINT,)
        kinds = {k for config in stack.applied_middlewares(router).values() for k in config or {}}
        assert "basicauth" in kinds, router


def test_every_referenced_middleware_is_defined(stack: Stack) -> None:
    """Each middleware a router lists exists in traefik/dynamic or in the labels."""
    for router in stack.routers():
        for reference, config in stack.applied_middlewares(router).items():
            assert config, f"{router.name} refers to undefined middleware {reference}"
            assert len(config) == 1, f"{reference} must configure exactly one middleware type"


def test_public_router_applies_the_hardening_middlewares(stack: Stack) -> None:
    """The public router sets security headers, then rate, concurrency and body limits."""
    [router] = stack.routers_for(Request.get("/graphql"), PUBLIC_ENTRYPOINT)
    kinds = [
        next(iter(config or {"missing": None}))
        for config in stack.applied_middlewares(router).values()
    ]
    assert kinds == ["headers", "ratelimit", "inflightreq", "buffering"]


def public_middlewares(stack: Stack) -> dict[str, Config]:
    """The public router's middlewares, by type (keys lower-cased)."""
    [router] = stack.routers_for(Request.get("/graphql"), PUBLIC_ENTRYPOINT)
    return {
        kind: options
        for config in stack.applied_middlewares(router).values()
        for kind, options in (config or {}).items()
    }


def test_request_bodies_are_capped_at_64_kib(stack: Stack) -> None:
    """The buffering middleware refuses request bodies over 64 KiB and keeps them in memory."""
    buffering = public_middlewares(stack)["buffering"]
    assert 0 < int(buffering["maxrequestbodybytes"]) <= 64 * 1024
    assert int(buffering["memrequestbodybytes"]) >= int(buffering["maxrequestbodybytes"])


@pytest.mark.parametrize("kind", ["ratelimit", "inflightreq"])
def test_limit_is_kept_per_client_address(stack: Stack, kind: str) -> None:
    """Rate and in-flight limits key on the TCP peer, not on the Host header or X-F-F."""
    strategy = public_middlewares(stack)[kind]["sourcecriterion"]["ipstrategy"]
    assert int(strategy.get("depth", 0)) == 0
    assert not strategy.get("excludedips")


def test_security_headers_forbid_framing_and_sniffing(stack: Stack) -> None:
    """Responses say nosniff and DENY framing, and drop the Server header."""
    headers = public_middlewares(stack)["headers"]
    assert headers["framedeny"] is True
    assert headers["contenttypenosniff"] is True
    assert headers["customresponseheaders"]["server"] == ""


# ---------------------------------------------------------------- the checks catch mistakes


def test_a_misspelt_path_is_reported(mutable: MutableFiles) -> None:
    """With /weather misspelt in the rule, the check reports /weather as unrouted."""
    rule = "Path(`/graphql`) || Path(`/fullinfo`) || Path(`/wether`) || Path(`/joke`)"
    mutable.set_label("gateway", "traefik.http.routers.gateway.rule", rule)
    problems = public_routing_problems(
        mutable.stack(), PUBLIC_TARGETS[:5], entrypoint=PUBLIC_ENTRYPOINT, container="gateway"
    )
    assert problems == ["/weather?city=x: 0 routers match on web []"]


def test_a_wrong_port_is_reported(mutable: MutableFiles) -> None:
    """A load balancer port other than the gateway's --port is reported for every path."""
    mutable.set_label("gateway", "traefik.http.services.gateway.loadbalancer.server.port", "8001")
    problems = public_routing_problems(
        mutable.stack(), ["/joke"], entrypoint=PUBLIC_ENTRYPOINT, container="gateway"
    )
    assert problems == ["/joke: sent to port 8001 but gateway listens on 8000"]


def test_a_wrong_service_name_is_reported(mutable: MutableFiles) -> None:
    """A router naming a service nobody defines is reported."""
    mutable.set_label("gateway", "traefik.http.routers.gateway.service", "gatewy")
    problems = public_routing_problems(
        mutable.stack(), ["/graphql"], entrypoint=PUBLIC_ENTRYPOINT, container="gateway"
    )
    assert problems == ["/graphql: router gateway@docker names unknown gatewy@docker"]


def test_an_overlapping_router_is_reported(mutable: MutableFiles) -> None:
    """A second container claiming /weather makes the path ambiguous, and it is reported."""
    mutable.set_label("weather", "traefik.enable", "true")
    mutable.set_label("weather", "traefik.http.routers.weather.rule", "PathPrefix(`/weather`)")
    mutable.set_label("weather", "traefik.http.routers.weather.entrypoints", "web")
    problems = public_routing_problems(
        mutable.stack(), ["/weather?city=x"], entrypoint=PUBLIC_ENTRYPOINT, container="gateway"
    )
    assert problems == [
        "/weather?city=x: 2 routers match on web ['gateway@docker', 'weather@docker']"
    ]


def test_a_public_route_to_the_subgraph_is_reported(mutable: MutableFiles) -> None:
    """Adding /subgraph to the public rule (for a router outside) is caught as exposure."""
    rule = "Path(`/graphql`) || PathPrefix(`/subgraph`) || Path(`/joke`)"
    mutable.set_label("gateway", "traefik.http.routers.gateway.rule", rule)
    problems = private_routing_problems(
        mutable.stack(), ["/subgraph/graphql"], entrypoint=PUBLIC_ENTRYPOINT
    )
    assert problems == ["/subgraph/graphql: routed by ['gateway@docker']"]


def test_exposing_by_default_is_caught(mutable: MutableFiles) -> None:
    """With exposedByDefault=true every container gets routed, which the opt-in check sees."""
    mutable.static["providers"]["docker"]["exposedByDefault"] = True
    exposed = mutable.stack().enabled_containers()
    assert {"weather", "jokes", "redis", "socket-proxy"} <= set(exposed)


def test_a_router_without_entrypoints_lands_on_the_default_one(mutable: MutableFiles) -> None:
    """A router that names no entrypoint joins the `asDefault` one (web), never the dashboard."""
    mutable.set_label("traefik", "traefik.http.routers.dashboard.entrypoints", "")
    [router] = [r for r in mutable.stack().routers() if r.service == "api@internal"]
    assert mutable.stack().effective_entrypoints(router) == (PUBLIC_ENTRYPOINT,)
    assert private_routing_problems(mutable.stack(), ["/api/rawdata"], entrypoint="web") != []


def test_an_undefined_middleware_is_caught(mutable: MutableFiles) -> None:
    """A router listing a middleware that exists nowhere resolves it to nothing."""
    mutable.set_label(
        "gateway", "traefik.http.routers.gateway.middlewares", "security-headers@file,nope@file"
    )
    [router] = mutable.stack().routers_for(Request.get("/graphql"), PUBLIC_ENTRYPOINT)
    assert mutable.stack().applied_middlewares(router)["nope@file"] is None
