"""The NetworkPolicy reachability matrix, computed from the rendered policies."""

from __future__ import annotations

from tests.k8s.manifests import NAMESPACES, Obj, environment, find
from tests.k8s.netpol import Edge, Endpoint, reachable

PORTS = [
    (8000, "TCP"),
    (8001, "TCP"),
    (8002, "TCP"),
    (6379, "TCP"),
    (53, "UDP"),
    (53, "TCP"),
    (443, "TCP"),
    (80, "TCP"),
]
OURS = ["gateway", "weather", "jokes", "redis"]


def outsiders(namespace: str) -> list[Endpoint]:
    """Everyone who is not a Canaduck workload, including a few who pretend to be."""
    return [
        Endpoint("traefik", "10.244.2.5", "traefik", (("app.kubernetes.io/name", "traefik"),)),
        # Another pod in the controller's namespace (say, a dashboard): not the controller.
        Endpoint("traefik-neighbour", "10.244.2.6", "traefik", (("app", "other"),)),
        Endpoint(
            "prometheus", "10.244.3.5", "monitoring", (("app.kubernetes.io/name", "prometheus"),)
        ),
        Endpoint("kube-dns", "10.244.0.2", "kube-system", (("k8s-app", "kube-dns"),)),
        # A debugging pod in our namespace, and a pod elsewhere wearing the gateway's label.
        Endpoint("stray-pod", "10.244.4.5", namespace, (("app", "debug"),)),
        Endpoint("fake-gateway", "10.244.5.5", "default", (("app.kubernetes.io/name", "gateway"),)),
        Endpoint("internet", "203.0.113.10"),
        Endpoint("vpc-host", "10.0.5.5"),
        Endpoint("cloud-metadata", "169.254.169.254"),
    ]


def expected(with_open_meteo: bool) -> set[Edge]:
    """docs/kubernetes.md's table: the only connections that should work."""
    edges = {
        Edge("traefik", "gateway", 8000),
        Edge("prometheus", "gateway", 8000),
        Edge("gateway", "weather", 8001),
        Edge("gateway", "jokes", 8002),
        Edge("gateway", "redis", 6379),
    }
    for pod in [*OURS, "stray-pod"]:  # allow-dns selects every pod of the namespace
        edges |= {Edge(pod, "kube-dns", 53, "UDP"), Edge(pod, "kube-dns", 53, "TCP")}
    if with_open_meteo:
        edges.add(Edge("weather", "internet", 443))
    return edges


def _matrix(objects: list[Obj], overlay: str) -> set[Edge]:
    return reachable(objects, outsiders(NAMESPACES[overlay]), PORTS)


def _diff(actual: set[Edge], wanted: set[Edge]) -> list[str]:
    return [f"unexpected {e}" for e in sorted(actual - wanted, key=str)] + [
        f"missing {e}" for e in sorted(wanted - actual, key=str)
    ]


def test_reachability_matches_the_table(objects: list[Obj], overlay: str) -> None:
    """Exactly the documented connections work; every other pair and port is refused."""
    open_meteo = overlay == "prod"
    assert _diff(_matrix(objects, overlay), expected(open_meteo)) == []


def test_weather_reaches_the_internet_only_with_open_meteo(
    objects: list[Obj], overlay: str
) -> None:
    """Weather's HTTPS egress exists exactly when WEATHER_PROVIDER=open-meteo."""
    provider = environment(objects, find(objects, "Deployment", "weather"))["WEATHER_PROVIDER"]
    internet = Edge("weather", "internet", 443) in _matrix(objects, overlay)
    assert internet == (provider == "open-meteo")


# Mutated copies: the matrix must notice each of these.


def test_dropping_default_deny_is_caught(mutable_prod: list[Obj]) -> None:
    """Without default-deny, a pod no policy names (a debugging pod) is open to everyone."""
    mutable_prod[:] = [o for o in mutable_prod if o["metadata"]["name"] != "default-deny"]
    extra = _matrix(mutable_prod, "prod") - expected(True)
    assert Edge("internet", "stray-pod", 80) in extra
    assert Edge("traefik", "stray-pod", 8000) in extra


def test_opening_redis_to_every_namespace_is_caught(mutable_prod: list[Obj]) -> None:
    """A redis rule with an empty namespaceSelector lets any pod of the cluster in."""
    policy = find(mutable_prod, "NetworkPolicy", "redis")
    policy["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {}}]
    unexpected = _matrix(mutable_prod, "prod") - expected(True)
    assert Edge("fake-gateway", "redis", 6379) in unexpected
    assert Edge("traefik", "redis", 6379) in unexpected


def test_a_podselector_without_namespace_is_caught(mutable_prod: list[Obj]) -> None:
    """Selecting Traefik by pod label alone matches nothing here: the controller loses access."""
    policy = find(mutable_prod, "NetworkPolicy", "gateway")
    del policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
    assert _diff(_matrix(mutable_prod, "prod"), expected(True)) == [
        "missing traefik -> gateway:8000/TCP"
    ]


def test_an_any_namespace_rule_is_caught(mutable_prod: list[Obj]) -> None:
    """An empty namespaceSelector on weather's rule admits a look-alike gateway from elsewhere."""
    policy = find(mutable_prod, "NetworkPolicy", "weather")
    policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = {}
    assert _diff(_matrix(mutable_prod, "prod"), expected(True)) == [
        "unexpected fake-gateway -> weather:8001/TCP"
    ]


def test_internet_egress_without_the_except_list_is_caught(mutable_prod: list[Obj]) -> None:
    """Dropping the private ranges from weather's egress lets it reach the VPC and metadata."""
    policy = find(mutable_prod, "NetworkPolicy", "weather-open-meteo-egress")
    del policy["spec"]["egress"][0]["to"][0]["ipBlock"]["except"]
    unexpected = _matrix(mutable_prod, "prod") - expected(True)
    assert Edge("weather", "cloud-metadata", 443) in unexpected
    assert Edge("weather", "vpc-host", 443) in unexpected
