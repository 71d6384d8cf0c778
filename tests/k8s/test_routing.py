"""What the public can reach through the HTTPRoute: the gateway's public paths, nothing else."""

from __future__ import annotations

import pytest

from tests.k8s.manifests import Obj, find
from tests.k8s.routing import (
    GATEWAY,
    PRIVATE_PATHS,
    PUBLIC_PATHS,
    RouteError,
    buffering_in_path,
    middlewares_of,
    route_for,
    routing_problems,
)

HOSTS = {"dev": "localhost", "prod": "canaduck.example.com"}


def _rules(objects: list[Obj]) -> list[Obj]:
    rules: list[Obj] = find(objects, "HTTPRoute", "canaduck")["spec"]["rules"]
    return rules


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_path_reaches_the_gateway(objects: list[Obj], overlay: str, path: str) -> None:
    """Each public path is routed, to the gateway Service's port 8000 and nowhere else."""
    hit = route_for(objects, path, HOSTS[overlay])
    assert hit is not None
    assert hit.backends == {GATEWAY}


@pytest.mark.parametrize("path", PRIVATE_PATHS)
def test_private_path_is_not_routed(objects: list[Obj], overlay: str, path: str) -> None:
    """Operator endpoints, the subgraph and near misses of public paths get no route (404)."""
    assert route_for(objects, path, HOSTS[overlay]) is None


def test_routing_matches_the_public_surface(objects: list[Obj], overlay: str) -> None:
    """No upstream Service is routed and nothing else (Ingress, LoadBalancer...) publishes."""
    assert routing_problems(objects, HOSTS[overlay]) == []


def test_prod_routes_only_its_hostname(prod: list[Obj]) -> None:
    """In prod a request for another host name matches no route."""
    assert route_for(prod, "/graphql", "canaduck.example.com") is not None
    assert route_for(prod, "/graphql", "other.example.com") is None


def test_graphql_streams_pass_unbuffered(objects: list[Obj], overlay: str) -> None:
    """No buffering Middleware and no request timeout sit on /graphql (SSE and WebSocket)."""
    hit = route_for(objects, "/graphql", HOSTS[overlay])
    assert hit is not None
    assert buffering_in_path(objects, hit) == []


def test_public_paths_carry_the_edge_middlewares(objects: list[Obj], overlay: str) -> None:
    """Security headers, then per-client rate and in-flight limits, as in docker-compose.yml."""
    hit = route_for(objects, "/graphql", HOSTS[overlay])
    assert hit is not None
    names = [m["metadata"]["name"] for m in middlewares_of(objects, hit)]
    assert names == ["security-headers", "rate-limit", "in-flight-limit"]


# Mutated copies: each change a reviewer could let through must be caught.


def test_a_route_to_metrics_is_caught(mutable_prod: list[Obj]) -> None:
    """Adding an Exact /metrics match makes the routing check fail on /metrics."""
    _rules(mutable_prod)[0]["matches"].append({"path": {"type": "Exact", "value": "/metrics"}})
    problems = routing_problems(mutable_prod, HOSTS["prod"])
    assert any(problem.startswith("/metrics is public") for problem in problems)


def test_a_prefix_graphql_match_is_caught(mutable_prod: list[Obj]) -> None:
    """Turning /graphql into a prefix match exposes /graphql/subgraph, and the check says so."""
    _rules(mutable_prod)[0]["matches"][0]["path"]["type"] = "PathPrefix"
    problems = routing_problems(mutable_prod, HOSTS["prod"])
    assert any(problem.startswith("/graphql/subgraph is public") for problem in problems)


def test_a_catch_all_route_is_caught(mutable_prod: list[Obj]) -> None:
    """A PathPrefix / rule makes every private path public, and each one is reported."""
    _rules(mutable_prod).append(
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [{"name": "gateway", "port": 8000}],
        }
    )
    problems = routing_problems(mutable_prod, HOSTS["prod"])
    assert {p.split(" ")[0] for p in problems} == set(PRIVATE_PATHS)


def test_a_route_to_an_upstream_is_caught(mutable_prod: list[Obj]) -> None:
    """Routing /weather straight to the weather Service (bypassing the gateway) is reported."""
    _rules(mutable_prod).insert(
        0,
        {
            "matches": [{"path": {"type": "Exact", "value": "/weather"}}],
            "backendRefs": [{"kind": "Service", "name": "weather", "port": 8001}],
        },
    )
    problems = routing_problems(mutable_prod, HOSTS["prod"])
    assert "Service weather:8001 is routed" in problems


def test_a_load_balancer_service_is_caught(mutable_prod: list[Obj]) -> None:
    """Publishing the redis Service on a cloud load balancer is reported."""
    find(mutable_prod, "Service", "redis")["spec"]["type"] = "LoadBalancer"
    assert "Service redis is LoadBalancer" in routing_problems(mutable_prod, HOSTS["prod"])


def test_a_buffering_middleware_on_graphql_is_caught(mutable_prod: list[Obj]) -> None:
    """A buffering Middleware in the /graphql chain would hold SSE answers: it is reported."""
    find(mutable_prod, "Middleware", "rate-limit")["spec"] = {
        "buffering": {"maxRequestBodyBytes": 65536}
    }
    hit = route_for(mutable_prod, "/graphql", HOSTS["prod"])
    assert hit is not None
    assert buffering_in_path(mutable_prod, hit) == ["Middleware rate-limit buffers"]


def test_a_request_timeout_on_graphql_is_caught(mutable_prod: list[Obj]) -> None:
    """A rule timeout would cut long-lived streams: it is reported."""
    _rules(mutable_prod)[0]["timeouts"] = {"request": "10s"}
    hit = route_for(mutable_prod, "/graphql", HOSTS["prod"])
    assert hit is not None
    assert buffering_in_path(mutable_prod, hit) != []


def test_a_missing_middleware_is_caught(mutable_prod: list[Obj]) -> None:
    """A filter naming an absent Middleware fails (Traefik would reject the whole route)."""
    mutable_prod[:] = [o for o in mutable_prod if o["metadata"]["name"] != "security-headers"]
    hit = route_for(mutable_prod, "/graphql", HOSTS["prod"])
    assert hit is not None
    with pytest.raises(AssertionError, match="security-headers"):
        middlewares_of(mutable_prod, hit)


def test_a_regular_expression_match_is_refused(mutable_prod: list[Obj]) -> None:
    """A regex path cannot be judged offline, so the evaluator refuses it instead of guessing."""
    _rules(mutable_prod)[0]["matches"].append(
        {"path": {"type": "RegularExpression", "value": "/.*"}}
    )
    with pytest.raises(RouteError):
        route_for(mutable_prod, "/metrics", HOSTS["prod"])
