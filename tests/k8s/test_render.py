"""The overlays render, land in their namespace, and carry the settings each environment needs."""

from __future__ import annotations

import re

from tests.k8s.manifests import NAMESPACES, OVERLAYS, ROOT, Obj, find, name_of, of_kind, pod_spec

CLUSTER_SCOPED = {"Namespace"}
# Settings the gateway gains in a sibling change (graceful drain, worker count); the
# manifests set them ahead of .env.example listing them.
ANNOUNCED_SETTINGS = {"GATEWAY_SHUTDOWN_DRAIN_SECONDS", "WEB_CONCURRENCY"}


def _documented_settings() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def _secret_refs(objects: list[Obj]) -> set[tuple[str, str]]:
    return {
        (entry["valueFrom"]["secretKeyRef"]["name"], entry["valueFrom"]["secretKeyRef"]["key"])
        for workload in of_kind(objects, "Deployment")
        for cont in pod_spec(workload)["containers"]
        for entry in cont.get("env", [])
        if "secretKeyRef" in entry.get("valueFrom", {})
    }


def test_every_overlay_directory_is_tested() -> None:
    """Each overlay under k8s/overlays/ has a namespace these tests know: none goes untested."""
    assert set(OVERLAYS) == set(NAMESPACES)


def test_everything_lands_in_the_overlay_namespace(objects: list[Obj], overlay: str) -> None:
    """Every namespaced object is in the overlay's namespace, which the overlay creates."""
    namespace = NAMESPACES[overlay]
    assert [name_of(ns) for ns in of_kind(objects, "Namespace")] == [namespace]
    stray = [
        f"{obj['kind']} {name_of(obj)}"
        for obj in objects
        if obj["kind"] not in CLUSTER_SCOPED and obj["metadata"].get("namespace") != namespace
    ]
    assert stray == []


def test_namespace_enforces_the_restricted_pod_security_profile(objects: list[Obj]) -> None:
    """The API server itself refuses pods that drop the hardening (Pod Security Admission)."""
    (namespace,) = of_kind(objects, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_prod_gateway_runs_in_production_mode(prod: list[Obj]) -> None:
    """Prod sets CANADUCK_ENV=production: no GraphiQL, introspection or GET queries."""
    assert find(prod, "ConfigMap", "gateway-settings")["data"]["CANADUCK_ENV"] == "production"


def test_dev_gateway_runs_in_development_mode(dev: list[Obj]) -> None:
    """Dev sets CANADUCK_ENV=development, so GraphiQL is there for developers."""
    assert find(dev, "ConfigMap", "gateway-settings")["data"]["CANADUCK_ENV"] == "development"


def test_every_setting_name_is_a_real_setting(objects: list[Obj]) -> None:
    """No ConfigMap key is a typo: each is a setting .env.example documents (or announced)."""
    known = _documented_settings() | ANNOUNCED_SETTINGS
    unknown = {
        key
        for config_map in of_kind(objects, "ConfigMap")
        for key in config_map.get("data", {})
        if key not in known
    }
    assert unknown == set()


def test_prod_keeps_the_redis_password_out_of_git(prod: list[Obj]) -> None:
    """Prod renders no Secret: the one it reads, canaduck-redis/password, is created by hand."""
    assert list(of_kind(prod, "Secret")) == []
    assert _secret_refs(prod) == {("canaduck-redis", "password")}


def test_dev_secret_references_resolve(dev: list[Obj]) -> None:
    """Every secretKeyRef in dev names a rendered Secret and one of its keys."""
    secrets = {name_of(s): set(s.get("data", {})) for s in of_kind(dev, "Secret")}
    for name, key in _secret_refs(dev):
        assert key in secrets.get(name, set()), f"{name}/{key} is not rendered"


def test_config_map_references_resolve(objects: list[Obj]) -> None:
    """Every envFrom ConfigMap a workload names exists (hash suffixes included)."""
    names = {name_of(c) for c in of_kind(objects, "ConfigMap")}
    referenced = {
        source["configMapRef"]["name"]
        for workload in of_kind(objects, "Deployment")
        for cont in pod_spec(workload)["containers"]
        for source in cont.get("envFrom", [])
        if "configMapRef" in source
    }
    assert referenced
    assert referenced <= names


def test_images_carry_a_fixed_tag(objects: list[Obj]) -> None:
    """No image runs as `latest` or untagged: a rollout is always a deliberate change."""
    images = [
        cont["image"]
        for workload in of_kind(objects, "Deployment")
        for cont in pod_spec(workload)["containers"]
    ]
    loose = [i for i in images if ":" not in i.rsplit("/", 1)[-1] or i.endswith(":latest")]
    assert loose == []


def test_prod_pulls_canaduck_images_from_a_registry(prod: list[Obj]) -> None:
    """Prod's Canaduck images name a registry host, not a local-only image name."""
    images = {
        cont["image"]
        for workload in of_kind(prod, "Deployment")
        for cont in pod_spec(workload)["containers"]
        if "canaduck" in cont["image"]
    }
    assert len(images) == 3
    assert all("." in image.split("/", 1)[0] for image in images), images
