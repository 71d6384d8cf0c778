"""Which backend a public request reaches, from the rendered HTTPRoutes (Gateway API v1).

Matching follows the Gateway API spec (HTTPRoute ``PathMatch``):

* ``Exact``: the path equals the value.
* ``PathPrefix``: the value matches whole path elements: ``/static`` matches ``/static``
  and ``/static/app.js``, not ``/staticfoo``; ``/`` matches everything. A trailing slash in
  the value is ignored.
* A match without a path is ``PathPrefix /``; a rule without matches matches everything.
* Among matching rules, an ``Exact`` match wins, then the longest prefix.

``RegularExpression`` paths are refused (:class:`RouteError`): their meaning is left to each
implementation, so a test cannot say what they expose. Header, query and method conditions
are ignored, which can only make a route look *more* public than it is: a safe error for
"is this path exposed?". Only hostnames narrow the match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.k8s.manifests import Obj, name_of, of_kind

# Kinds that publish something to the outside world, besides HTTPRoute.
OTHER_PUBLIC_KINDS = {
    "Ingress",
    "IngressRoute",
    "IngressRouteTCP",
    "IngressRouteUDP",
    "GRPCRoute",
    "TCPRoute",
    "TLSRoute",
    "UDPRoute",
    "Gateway",
}


class RouteError(ValueError):
    """A route uses a match this evaluator cannot judge."""


@dataclass(frozen=True)
class Backend:
    kind: str
    name: str
    port: int | None


@dataclass(frozen=True)
class Hit:
    """The route rule a request lands on."""

    route: str
    rule_index: int
    backends: frozenset[Backend]
    filters: tuple[dict[str, Any], ...]
    rule: dict[str, Any]


def _path_score(match: dict[str, Any], path: str) -> tuple[int, int] | None:
    """How specifically ``match`` matches ``path`` (higher wins), or None for no match."""
    spec = match.get("path", {"type": "PathPrefix", "value": "/"})
    kind = spec.get("type", "PathPrefix")
    value = spec.get("value", "/")
    if kind == "Exact":
        return (1, len(value)) if path == value else None
    if kind == "PathPrefix":
        prefix = value.rstrip("/")
        if prefix == "" or path == prefix or path.startswith(prefix + "/"):
            return (0, len(prefix))
        return None
    raise RouteError(f"path match type {kind!r} cannot be judged offline")


def _host_matches(route: Obj, host: str) -> bool:
    names = route["spec"].get("hostnames")
    if not names:
        return True
    host = host.split(":")[0].lower()
    for name in names:
        name = name.lower()
        if name.startswith("*.") and host.endswith(name[1:]) and host != name[2:]:
            return True
        if host == name:
            return True
    return False


def route_for(objects: list[Obj], target: str, host: str) -> Hit | None:
    """The HTTPRoute rule that takes ``GET http://host/target``, or None (a 404 at the edge)."""
    path = urlsplit(target).path or "/"
    best: tuple[tuple[int, int], Hit] | None = None
    for route in of_kind(objects, "HTTPRoute"):
        if not _host_matches(route, host):
            continue
        for index, rule in enumerate(route["spec"].get("rules", [])):
            for match in rule.get("matches") or [{}]:
                score = _path_score(match, path)
                if score is None:
                    continue
                hit = Hit(
                    route=name_of(route),
                    rule_index=index,
                    backends=frozenset(
                        Backend(ref.get("kind", "Service"), ref["name"], ref.get("port"))
                        for ref in rule.get("backendRefs", [])
                    ),
                    filters=tuple(rule.get("filters", [])),
                    rule=rule,
                )
                if best is None or score > best[0]:
                    best = (score, hit)
    return best[1] if best else None


def public_exposure(objects: list[Obj]) -> list[str]:
    """Objects other than HTTPRoutes that would publish something: should be none."""
    found = [
        f"{obj['kind']} {name_of(obj)}" for obj in objects if obj["kind"] in OTHER_PUBLIC_KINDS
    ]
    found += [
        f"Service {name_of(service)} is {service['spec']['type']}"
        for service in of_kind(objects, "Service")
        if service["spec"].get("type", "ClusterIP") != "ClusterIP"
        or service["spec"].get("externalIPs")
    ]
    return found


def routed_backends(objects: list[Obj]) -> set[Backend]:
    """Every backend any HTTPRoute rule can send to."""
    return {
        Backend(ref.get("kind", "Service"), ref["name"], ref.get("port"))
        for route in of_kind(objects, "HTTPRoute")
        for rule in route["spec"].get("rules", [])
        for ref in rule.get("backendRefs", [])
    }


def middlewares_of(objects: list[Obj], hit: Hit) -> list[Obj]:
    """The Traefik Middleware objects that a rule's ExtensionRef filters name, in order.

    A filter that names no existing Middleware raises (Traefik would reject the route).
    """
    found = []
    for spec in hit.filters:
        if spec.get("type") != "ExtensionRef":
            continue
        ref = spec["extensionRef"]
        assert (ref.get("group"), ref.get("kind")) == ("traefik.io", "Middleware"), ref
        matching = [obj for obj in of_kind(objects, "Middleware") if name_of(obj) == ref["name"]]
        if not matching:
            raise AssertionError(f"route filter names Middleware {ref['name']!r}, which is absent")
        found.append(matching[0])
    return found


def buffering_in_path(objects: list[Obj], hit: Hit) -> list[str]:
    """What would buffer or cut a streamed response on this rule: should be nothing."""
    found = [
        f"Middleware {name_of(middleware)} buffers"
        for middleware in middlewares_of(objects, hit)
        if "buffering" in middleware["spec"]
    ]
    if hit.rule.get("timeouts"):
        found.append(f"rule sets timeouts {hit.rule['timeouts']}")
    return found


# What the public may reach (docker-compose.yml's router rule, docs/kubernetes.md) ...
PUBLIC_PATHS = [
    "/graphql",
    "/fullinfo?city=Rodez",
    "/weather?city=Rodez",
    "/joke",
    "/display",
    "/static/display/display.js",
    "/static/vendor/graphiql@3.8.3/graphiql.min.css",
]
# ... and what it must not: operator endpoints, the federation subgraph, near misses of
# the public paths, and the upstream services' own paths.
PRIVATE_PATHS = [
    "/",
    "/metrics",
    "/health",
    "/ready",
    "/docs",
    "/openapi.json",
    "/subgraph/graphql",
    "/graphql/",
    "/graphql/subgraph",
    "/graphqlx",
    "/fullinfo/",
    "/staticfoo",
    "/jokes/1",
    "/weather/Rodez",
]
GATEWAY = Backend("Service", "gateway", 8000)


def routing_problems(objects: list[Obj], host: str) -> list[str]:
    """Every way the rendered routing differs from the public surface above."""
    problems = []
    for path in PUBLIC_PATHS:
        hit = route_for(objects, path, host)
        if hit is None or hit.backends != {GATEWAY}:
            problems.append(f"{path} does not reach the gateway only ({hit})")
    for path in PRIVATE_PATHS:
        hit = route_for(objects, path, host)
        if hit is not None:
            problems.append(f"{path} is public: route {hit.route} rule {hit.rule_index}")
    problems += [
        f"{backend.kind} {backend.name}:{backend.port} is routed"
        for backend in routed_backends(objects) - {GATEWAY}
    ]
    problems += public_exposure(objects)
    return problems
