"""Checks on the rendered workloads: security context, writable paths, probes, resources.

Each checker returns findings (one sentence each, naming the object): an empty list is a
pass. The tests assert on the list, and feed mutated copies to prove a checker notices.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from tests.k8s.manifests import Obj, container, environment, name_of, of_kind, pod_spec

# The Dockerfile's `runtime` stage: groupadd/useradd --uid 10001 --gid 10001, USER 10001.
IMAGE_UID = 10001
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}
# Paths each workload writes to, hence needs a volume under a read-only root filesystem.
WRITABLE_PATHS = {
    "gateway": ["/tmp"],
    "weather": ["/tmp"],
    "jokes": ["/tmp", "<dir of JOKE_DB_PATH>"],
    "redis": ["/data"],
}


def workloads(objects: list[Obj]) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] in WORKLOAD_KINDS]


def _effective(pod: dict[str, Any], cont: dict[str, Any], key: str) -> Any:
    """A security setting as the kubelet applies it: the container's, else the pod's."""
    own = (cont.get("securityContext") or {}).get(key)
    return own if own is not None else (pod.get("securityContext") or {}).get(key)


def security_findings(objects: list[Obj]) -> list[str]:
    """Everything that falls short of the hardening the brief and docs/kubernetes.md promise."""
    findings: list[str] = []
    accounts = {name_of(sa): sa for sa in of_kind(objects, "ServiceAccount")}
    for workload in workloads(objects):
        where = f"{workload['kind']} {name_of(workload)}"
        pod = pod_spec(workload)
        if pod.get("automountServiceAccountToken") is not False:
            findings.append(f"{where}: automountServiceAccountToken is not false")
        account = accounts.get(pod.get("serviceAccountName", "default"))
        if account is None or account.get("automountServiceAccountToken") is not False:
            findings.append(f"{where}: its ServiceAccount is missing or mounts a token")
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                findings.append(f"{where}: {key} is set")
        findings += [
            f"{where}: hostPath volume {volume['name']}"
            for volume in pod.get("volumes", [])
            if "hostPath" in volume
        ]
        for cont in pod.get("initContainers", []) + pod["containers"]:
            at = f"{where} container {cont['name']}"
            context = cont.get("securityContext") or {}
            if _effective(pod, cont, "runAsNonRoot") is not True:
                findings.append(f"{at}: runAsNonRoot is not true")
            if _effective(pod, cont, "runAsUser") != IMAGE_UID:
                findings.append(f"{at}: runAsUser is not the image's uid {IMAGE_UID}")
            seccomp = _effective(pod, cont, "seccompProfile") or {}
            if seccomp.get("type") != "RuntimeDefault":
                findings.append(f"{at}: seccompProfile is not RuntimeDefault")
            if context.get("readOnlyRootFilesystem") is not True:
                findings.append(f"{at}: readOnlyRootFilesystem is not true")
            if context.get("allowPrivilegeEscalation") is not False:
                findings.append(f"{at}: allowPrivilegeEscalation is not false")
            if context.get("privileged"):
                findings.append(f"{at}: privileged")
            capabilities = context.get("capabilities") or {}
            if "ALL" not in (capabilities.get("drop") or []):
                findings.append(f"{at}: capabilities are not all dropped")
            if capabilities.get("add"):
                findings.append(f"{at}: capabilities added: {capabilities['add']}")
    return findings


def _mounted(pod: dict[str, Any], cont: dict[str, Any], path: str) -> bool:
    """Whether ``path`` lies on a writable volume mounted in ``cont``."""
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    for mount in cont.get("volumeMounts", []):
        if mount.get("readOnly"):
            continue
        volume = volumes.get(mount["name"], {})
        if not ({"emptyDir", "persistentVolumeClaim", "ephemeral"} & volume.keys()):
            continue
        if PurePosixPath(path).is_relative_to(mount["mountPath"]):
            return True
    return False


def writable_path_findings(objects: list[Obj]) -> list[str]:
    """Paths a service writes that have no writable volume (it would crash read-only)."""
    findings = []
    for workload in workloads(objects):
        name = name_of(workload)
        pod, cont = pod_spec(workload), container(workload)
        for path in WRITABLE_PATHS.get(name, ["/tmp"]):
            if path == "<dir of JOKE_DB_PATH>":
                db_path = environment(objects, workload).get("JOKE_DB_PATH", "")
                if not db_path.startswith("/"):
                    findings.append(f"{name}: JOKE_DB_PATH {db_path!r} is not an absolute path")
                    continue
                path = str(PurePosixPath(db_path).parent)
            if not _mounted(pod, cont, path):
                findings.append(f"{name}: {path} is not on a writable volume")
    return findings


_QUANTITY = re.compile(r"^([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?$")
_FACTORS = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
}


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity as a number (CPU in cores, memory in bytes)."""
    match = _QUANTITY.match(str(value))
    if match is None:
        raise ValueError(f"cannot read quantity {value!r}")
    return float(match.group(1)) * _FACTORS[match.group(2)]


def resource_findings(objects: list[Obj], measured_rss_mib: dict[str, float]) -> list[str]:
    """Missing requests/limits, limits below requests, memory requests below what was measured."""
    findings = []
    for workload in workloads(objects):
        for cont in pod_spec(workload)["containers"]:
            at = f"{name_of(workload)}/{cont['name']}"
            resources = cont.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(kind) or {}):
                        findings.append(f"{at}: no {resource} {kind[:-1]}")
            requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
            for resource in ("cpu", "memory"):
                if (
                    resource in requests
                    and resource in limits
                    and quantity(limits[resource]) < quantity(requests[resource])
                ):
                    findings.append(f"{at}: {resource} limit below its request")
            measured = measured_rss_mib.get(name_of(workload))
            if (
                measured is not None
                and "memory" in requests
                and quantity(requests["memory"]) < measured * 1024**2
            ):
                findings.append(
                    f"{at}: memory request {requests['memory']} is below the measured "
                    f"RSS of {measured} MiB"
                )
    return findings


def probe_path(cont: dict[str, Any], probe: str) -> str | None:
    """The HTTP path of ``cont``'s ``probe`` (e.g. ``readinessProbe``), or None."""
    spec = cont.get(probe) or {}
    get = spec.get("httpGet")
    return str(get["path"]) if get else None


def probe_port_findings(objects: list[Obj]) -> list[str]:
    """Probes aimed at a port the container does not declare (they would always fail)."""
    findings = []
    for workload in workloads(objects):
        for cont in pod_spec(workload)["containers"]:
            names = {port.get("name") for port in cont.get("ports", [])}
            numbers = {port["containerPort"] for port in cont.get("ports", [])}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                spec = cont.get(probe) or {}
                for action in ("httpGet", "tcpSocket"):
                    if action in spec:
                        port = spec[action]["port"]
                        if port not in names and port not in numbers:
                            findings.append(
                                f"{name_of(workload)}: {probe} uses undeclared port {port!r}"
                            )
    return findings
