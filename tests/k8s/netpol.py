"""Who can reach whom, computed from the rendered NetworkPolicies (networking.k8s.io/v1).

The semantics are the Kubernetes ones:

* A pod is isolated for ingress (egress) once any policy in its namespace selects it with
  ``Ingress`` (``Egress``) in ``policyTypes``; then only what some such policy's rules allow
  gets through. An unselected pod allows everything in that direction.
* ``policyTypes`` defaults to ``Ingress``, plus ``Egress`` when the policy has egress rules.
* A rule with no ``from``/``to`` allows every peer; with no ``ports``, every port.
* A peer ``podSelector`` alone means pods of the policy's namespace; ``namespaceSelector``
  alone, every pod of the matching namespaces; both, pods matching both; ``ipBlock``,
  addresses in ``cidr`` and outside ``except``.
* A connection works when the source's egress and the destination's ingress both allow it.

Only this namespace's policies exist here. They govern every pod of the namespace (a stray
debugging pod too); endpoints elsewhere (Traefik, Prometheus, the internet) are unrestricted
on their own side, which is the worst case for us.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from tests.k8s.manifests import Obj, name_of, of_kind, pod_spec


@dataclass(frozen=True)
class Endpoint:
    """A pod (``namespace`` set) or an address outside the cluster (``namespace`` None)."""

    name: str
    ip: str
    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class Edge:
    source: str
    destination: str
    port: int
    protocol: str = "TCP"

    def __str__(self) -> str:
        return f"{self.source} -> {self.destination}:{self.port}/{self.protocol}"


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector; an empty one matches everything."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _namespace_labels(namespace: str) -> dict[str, str]:
    # The API server sets this label on every namespace.
    return {"kubernetes.io/metadata.name": namespace}


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if other.namespace is None:
        return False  # pod and namespace selectors only ever select pods
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], _namespace_labels(other.namespace)):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selector_matches(peer.get("podSelector"), other.label_map)


def _port_matches(rule_ports: list[dict[str, Any]] | None, target: Endpoint, edge: Edge) -> bool:
    if not rule_ports:
        return True
    for spec in rule_ports:
        if spec.get("protocol", "TCP") != edge.protocol:
            continue
        port = spec.get("port")
        if port is None:
            return True
        if isinstance(port, str):
            port = dict(target.ports).get(port)
            if port is None:
                continue
        if port <= edge.port <= spec.get("endPort", port):
            return True
    return False


def _policy_types(policy: Obj) -> list[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _allowed(
    policies: list[Obj], pod: Endpoint, other: Endpoint, direction: str, edge: Edge
) -> bool:
    """Whether ``pod``'s policies let ``edge`` in (``Ingress``) or out (``Egress``)."""
    selecting = [
        policy
        for policy in policies
        if policy["metadata"]["namespace"] == pod.namespace
        and direction in _policy_types(policy)
        and selector_matches(policy["spec"]["podSelector"], pod.label_map)
    ]
    if not selecting:
        return True
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    port_owner = pod if direction == "Ingress" else other
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if peers and not any(
                _peer_matches(peer, policy["metadata"]["namespace"], other) for peer in peers
            ):
                continue
            if _port_matches(rule.get("ports"), port_owner, edge):
                return True
    return False


def workload_pods(objects: list[Obj]) -> list[Endpoint]:
    """One endpoint per Deployment/StatefulSet, with its pod template's labels and ports."""
    pods = []
    for index, workload in enumerate(
        obj for obj in objects if obj["kind"] in {"Deployment", "StatefulSet"}
    ):
        labels = workload["spec"]["template"]["metadata"].get("labels", {})
        ports = tuple(
            (port["name"], port["containerPort"])
            for c in pod_spec(workload)["containers"]
            for port in c.get("ports", [])
            if "name" in port
        )
        pods.append(
            Endpoint(
                name=name_of(workload),
                ip=f"10.244.1.{index + 10}",
                namespace=workload["metadata"]["namespace"],
                labels=tuple(sorted(labels.items())),
                ports=ports,
            )
        )
    return pods


def reachable(
    objects: list[Obj], outsiders: list[Endpoint], ports: list[tuple[int, str]]
) -> set[Edge]:
    """Every (source, destination, port) that the policies allow, one side being ours."""
    policies = list(of_kind(objects, "NetworkPolicy"))
    namespaces = {policy["metadata"]["namespace"] for policy in policies}
    everyone = workload_pods(objects) + outsiders
    # Our policies govern every pod of our namespace, workloads or not.
    ours = [endpoint for endpoint in everyone if endpoint.namespace in namespaces]
    edges = set()
    for source in everyone:
        for destination in everyone:
            if source == destination or (source not in ours and destination not in ours):
                continue
            for port, protocol in ports:
                edge = Edge(source.name, destination.name, port, protocol)
                out_ok = source not in ours or _allowed(
                    policies, source, destination, "Egress", edge
                )
                in_ok = destination not in ours or _allowed(
                    policies, destination, source, "Ingress", edge
                )
                if out_ok and in_ok:
                    edges.add(edge)
    return edges
