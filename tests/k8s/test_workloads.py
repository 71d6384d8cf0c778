"""Workloads: hardening, writable paths, probes, shutdown, resources, scaling, availability."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.k8s.manifests import Obj, container, environment, find, name_of, of_kind, pod_spec
from tests.k8s.netpol import selector_matches
from tests.k8s.workloads import (
    probe_path,
    probe_port_findings,
    quantity,
    resource_findings,
    security_findings,
    workloads,
    writable_path_findings,
)

# RSS measured on the dev machine (2026-12-03), one process each; the comments in
# k8s/base/*.yaml say how. Memory requests must not drop below these.
MEASURED_RSS_MIB = {"gateway": 85.0, "weather": 189.0, "jokes": 60.0}
REPLICATED = ["gateway", "weather", "jokes"]


def _gateway_container(objects: list[Obj]) -> Obj:
    first: Obj = pod_spec(find(objects, "Deployment", "gateway"))["containers"][0]
    return first


def test_every_container_is_hardened(objects: list[Obj]) -> None:
    """Non-root as uid 10001, read-only root, no capabilities, seccomp, no token, no host access."""
    assert security_findings(objects) == []


Mutation = Callable[[list[Obj]], object]


def _container_context(objects: list[Obj]) -> dict[str, Any]:
    context: dict[str, Any] = _gateway_container(objects)["securityContext"]
    return context


def _pod(objects: list[Obj]) -> dict[str, Any]:
    return pod_spec(find(objects, "Deployment", "gateway"))


MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "writable root": (
        lambda o: _container_context(o).pop("readOnlyRootFilesystem"),
        "readOnlyRootFilesystem is not true",
    ),
    "root user": (
        lambda o: _container_context(o).update(runAsUser=0),
        "runAsUser is not the image's uid 10001",
    ),
    "non-root not enforced": (
        lambda o: (
            _container_context(o).pop("runAsNonRoot"),
            _pod(o)["securityContext"].pop("runAsNonRoot"),
        ),
        "runAsNonRoot is not true",
    ),
    "capability added": (
        lambda o: _container_context(o)["capabilities"].update(add=["NET_ADMIN"]),
        "capabilities added",
    ),
    "capabilities kept": (
        lambda o: _container_context(o)["capabilities"].update(drop=["NET_RAW"]),
        "capabilities are not all dropped",
    ),
    "privilege escalation": (
        lambda o: _container_context(o).update(allowPrivilegeEscalation=True),
        "allowPrivilegeEscalation is not false",
    ),
    "no seccomp": (
        lambda o: (
            _container_context(o).pop("seccompProfile"),
            _pod(o)["securityContext"].pop("seccompProfile"),
        ),
        "seccompProfile is not RuntimeDefault",
    ),
    "token mounted": (
        lambda o: _pod(o).update(automountServiceAccountToken=True),
        "automountServiceAccountToken is not false",
    ),
    "host path": (
        lambda o: _pod(o)["volumes"].append({"name": "host", "hostPath": {"path": "/"}}),
        "hostPath volume host",
    ),
    "host network": (lambda o: _pod(o).update(hostNetwork=True), "hostNetwork is set"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_weakened_gateway_is_caught(mutable_prod: list[Obj], mutation: str) -> None:
    """Each weakening of the gateway's pod, made on a copy, is reported by the checker."""
    change, expected = MUTATIONS[mutation]
    change(mutable_prod)
    findings = security_findings(mutable_prod)
    assert any(expected in finding and "gateway" in finding for finding in findings), findings


def test_writable_paths_are_on_volumes(objects: list[Obj]) -> None:
    """/tmp everywhere, the jokes database's directory and Redis's /data are writable volumes."""
    assert writable_path_findings(objects) == []


def test_jokes_database_lives_on_the_data_volume(objects: list[Obj]) -> None:
    """JOKE_DB_PATH points into /data, the volume mounted for it (Dockerfile's path)."""
    jokes = find(objects, "Deployment", "jokes")
    assert environment(objects, jokes)["JOKE_DB_PATH"] == "/data/jokes.sqlite3"


def test_a_database_without_a_volume_is_caught(mutable_prod: list[Obj]) -> None:
    """Removing the jokes data mount leaves SQLite on the read-only root: reported."""
    jokes = find(mutable_prod, "Deployment", "jokes")
    mounts = jokes["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    mounts[:] = [m for m in mounts if m["mountPath"] != "/data"]
    assert writable_path_findings(mutable_prod) == ["jokes: /data is not on a writable volume"]


@pytest.mark.parametrize(
    ("workload", "ready", "alive"),
    [
        ("gateway", "/ready", "/health"),
        ("weather", "/health", "/health"),
        ("jokes", "/health", "/health"),
    ],
)
def test_probes_use_the_service_endpoints(
    objects: list[Obj], workload: str, ready: str, alive: str
) -> None:
    """Readiness, liveness and startup probes call the service's own endpoints."""
    spec = container(find(objects, "Deployment", workload))
    assert probe_path(spec, "readinessProbe") == ready
    assert probe_path(spec, "livenessProbe") == alive
    assert probe_path(spec, "startupProbe") == "/health"


def test_liveness_never_depends_on_upstreams(objects: list[Obj]) -> None:
    """No liveness probe calls /ready: an upstream outage must not restart the gateways."""
    paths = [
        probe_path(c, "livenessProbe")
        for w in workloads(objects)
        for c in pod_spec(w)["containers"]
    ]
    assert "/ready" not in paths
    assert all(
        c.get("livenessProbe") for w in workloads(objects) for c in pod_spec(w)["containers"]
    )


def test_probes_aim_at_declared_ports(objects: list[Obj]) -> None:
    """Every probe's port is one the container declares."""
    assert probe_port_findings(objects) == []


def test_a_probe_on_a_wrong_port_is_caught(mutable_prod: list[Obj]) -> None:
    """A readiness probe on a port the gateway does not declare is reported."""
    _gateway_container(mutable_prod)["readinessProbe"]["httpGet"]["port"] = "metrics"
    assert probe_port_findings(mutable_prod) == [
        "gateway: readinessProbe uses undeclared port 'metrics'"
    ]


def _grace_margin(objects: list[Obj]) -> float:
    gateway = find(objects, "Deployment", "gateway")
    env = environment(objects, gateway)
    drain = float(env["GATEWAY_SHUTDOWN_DRAIN_SECONDS"])
    deadline = float(env["GATEWAY_REQUEST_TIMEOUT_SECONDS"])
    grace = float(pod_spec(gateway)["terminationGracePeriodSeconds"])
    return grace - (drain + deadline)


def test_gateway_grace_period_covers_drain_and_deadline(objects: list[Obj]) -> None:
    """SIGKILL comes after the drain and the last request's deadline (30 s > 5 s + 3 s)."""
    assert _grace_margin(objects) > 0


def test_a_drain_longer_than_the_grace_period_is_caught(mutable_prod: list[Obj]) -> None:
    """Raising the drain to 40 s without the grace period makes the margin negative."""
    find(mutable_prod, "ConfigMap", "gateway-settings")["data"][
        "GATEWAY_SHUTDOWN_DRAIN_SECONDS"
    ] = "40"
    assert _grace_margin(mutable_prod) < 0


def test_resources_are_set_from_measurements(objects: list[Obj]) -> None:
    """Every container has CPU and memory requests and limits, memory above the measured RSS."""
    assert resource_findings(objects, MEASURED_RSS_MIB) == []


def test_a_memory_request_below_the_measurement_is_caught(mutable_prod: list[Obj]) -> None:
    """A gateway memory request of 64Mi (measured: 85 MiB) is reported."""
    _gateway_container(mutable_prod)["resources"]["requests"]["memory"] = "64Mi"
    findings = resource_findings(mutable_prod, MEASURED_RSS_MIB)
    assert findings == [
        "gateway/gateway: memory request 64Mi is below the measured RSS of 85.0 MiB"
    ]


def test_quantities_are_read_in_kubernetes_units() -> None:
    """500m is half a core, 128Mi is 128 x 2^20 bytes, 1G is 10^9."""
    assert (quantity("500m"), quantity("128Mi"), quantity("1G"), quantity(2)) == (
        0.5,
        134217728.0,
        1e9,
        2.0,
    )


def test_autoscaler_owns_the_gateway_replica_count(objects: list[Obj]) -> None:
    """The HPA scales the gateway Deployment on CPU, and the Deployment sets no replicas."""
    (hpa,) = of_kind(objects, "HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "gateway")
    assert "replicas" not in find(objects, "Deployment", "gateway")["spec"]
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


def test_prod_keeps_three_gateways_at_least(prod: list[Obj]) -> None:
    """Prod never scales the gateway below three pods (one per node on a 3-node cluster)."""
    (hpa,) = of_kind(prod, "HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] >= 3
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


@pytest.mark.parametrize("workload", REPLICATED)
def test_disruption_budget_covers_the_pods(objects: list[Obj], workload: str) -> None:
    """A PodDisruptionBudget selects the workload's pods and lets a drain evict one at a time."""
    labels = find(objects, "Deployment", workload)["spec"]["template"]["metadata"]["labels"]
    budgets = [
        p
        for p in of_kind(objects, "PodDisruptionBudget")
        if selector_matches(p["spec"]["selector"], labels)
    ]
    assert [b["spec"].get("maxUnavailable") for b in budgets] == [1]


@pytest.mark.parametrize("workload", REPLICATED)
def test_replicas_spread_across_nodes(objects: list[Obj], workload: str) -> None:
    """Pods of one workload are spread over nodes (hostname), selecting their own pods."""
    deployment = find(objects, "Deployment", workload)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    spread = [
        c
        for c in pod_spec(deployment).get("topologySpreadConstraints", [])
        if c["topologyKey"] == "kubernetes.io/hostname"
    ]
    assert len(spread) == 1
    assert spread[0]["whenUnsatisfiable"] == "DoNotSchedule"
    assert selector_matches(spread[0]["labelSelector"], labels)


def test_services_select_their_workload(objects: list[Obj]) -> None:
    """Each Service selects the pods of exactly one workload, on a port its container declares."""
    for service in of_kind(objects, "Service"):
        selected = [
            w
            for w in workloads(objects)
            if selector_matches(
                {"matchLabels": service["spec"]["selector"]},
                w["spec"]["template"]["metadata"]["labels"],
            )
        ]
        assert [name_of(w) for w in selected] == [name_of(service)]
        declared = {p["name"] for p in container(selected[0]).get("ports", [])}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= declared
