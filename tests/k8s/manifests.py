"""Render the Kustomize overlays with kubectl, and small helpers to read the objects.

No cluster is involved: ``kubectl kustomize`` only builds YAML. A machine without kubectl
skips these tests, saying why; CI sets ``CANADUCK_CI=1``, which turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.support.prerequisites import require

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "k8s"
OVERLAYS_DIR = K8S_DIR / "overlays"
OVERLAYS = sorted(path.name for path in OVERLAYS_DIR.iterdir() if path.is_dir())
# Where each overlay deploys (its kustomization's `namespace:`).
NAMESPACES = {"dev": "canaduck-dev", "prod": "canaduck"}

Obj = dict[str, Any]


def kubectl_path() -> str | None:
    """``$CANADUCK_KUBECTL`` if set, else kubectl on PATH."""
    return os.environ.get("CANADUCK_KUBECTL") or shutil.which("kubectl")


def require_kubectl() -> str:
    path = kubectl_path()
    require(
        path is not None and Path(path).exists(),
        "no kubectl on PATH (or at $CANADUCK_KUBECTL): the overlays cannot be rendered; "
        "install kubectl (it bundles Kustomize v5)",
    )
    assert path is not None
    return path


def render(overlay: str) -> list[Obj]:
    """``kubectl kustomize k8s/overlays/<overlay>``, parsed; raises on a render error."""
    kubectl = require_kubectl()
    result = subprocess.run(
        [kubectl, "kustomize", str(OVERLAYS_DIR / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {overlay} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def name_of(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def of_kind(objects: list[Obj], kind: str) -> Iterator[Obj]:
    return (obj for obj in objects if obj["kind"] == kind)


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    """The one object of ``kind`` named ``name`` (ConfigMaps: the name before the hash)."""
    found = [
        obj
        for obj in of_kind(objects, kind)
        if name_of(obj) == name or (kind in {"ConfigMap", "Secret"} and _unhashed(obj) == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def _unhashed(obj: Obj) -> str:
    """A generated ConfigMap's name without Kustomize's ``-<hash>`` suffix."""
    return name_of(obj).rsplit("-", 1)[0]


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def container(workload: Obj, name: str | None = None) -> Obj:
    """The workload's container ``name`` (default: the one named like the workload)."""
    wanted = name or name_of(workload)
    (found,) = [c for c in pod_spec(workload)["containers"] if c["name"] == wanted]
    return dict(found)


def environment(
    objects: list[Obj], workload: Obj, container_name: str | None = None
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps, then env.

    Secret values and field references show as ``<secret:name/key>``; ``$(VAR)`` stays as
    written (the kubelet expands it at start).
    """
    env: dict[str, str] = {}
    spec = container(workload, container_name)
    namespace = workload["metadata"].get("namespace")
    for source in spec.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref is None:
            continue
        (config_map,) = [
            obj
            for obj in of_kind(objects, "ConfigMap")
            if name_of(obj) == ref["name"] and obj["metadata"].get("namespace") == namespace
        ]
        env.update({str(k): str(v) for k, v in config_map.get("data", {}).items()})
    for entry in spec.get("env", []):
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = f"<secret:{ref['name']}/{ref['key']}>"
        else:
            env[entry["name"]] = "<ref>"
    return env
