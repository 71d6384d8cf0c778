"""Every rendered object is valid for its kind, checked offline against JSON schemas."""

from __future__ import annotations

from tests.k8s.manifests import Obj, find
from tests.k8s.schemas import schema_errors


def test_every_object_matches_its_schema(objects: list[Obj]) -> None:
    """kubectl apply would accept every object: no unknown field, no wrong type, no unknown kind."""
    errors = [error for obj in objects for error in schema_errors(obj)]
    assert errors == []


def test_a_misspelt_field_is_rejected(mutable_prod: list[Obj]) -> None:
    """A typo in a built-in kind (readOnlyRootFileSystem) is an error, not silently dropped."""
    gateway = find(mutable_prod, "Deployment", "gateway")
    context = gateway["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    context["readOnlyRootFileSystem"] = context.pop("readOnlyRootFilesystem")
    assert any("readOnlyRootFileSystem" in error for error in schema_errors(gateway))


def test_a_wrong_type_is_rejected(mutable_prod: list[Obj]) -> None:
    """A port given as text where the schema wants a number is an error."""
    service = find(mutable_prod, "Service", "gateway")
    service["spec"]["ports"][0]["port"] = "eight thousand"
    assert schema_errors(service) != []


def test_an_invalid_httproute_path_type_is_rejected(mutable_prod: list[Obj]) -> None:
    """The vendored Gateway API schema refuses a path match type that does not exist."""
    route = find(mutable_prod, "HTTPRoute", "canaduck")
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    assert any("Prefix" in error for error in schema_errors(route))


def test_an_unknown_middleware_option_is_rejected(mutable_prod: list[Obj]) -> None:
    """The vendored Traefik Middleware schema refuses an option Traefik does not have."""
    middleware = find(mutable_prod, "Middleware", "rate-limit")
    middleware["spec"]["rateLimit"]["averge"] = 30
    assert any("averge" in error for error in schema_errors(middleware))


def test_a_kind_without_a_schema_is_an_error() -> None:
    """An object of a kind no schema covers fails instead of passing unchecked."""
    route = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRoute",
        "metadata": {"name": "extra", "namespace": "canaduck"},
        "spec": {"routes": []},
    }
    assert schema_errors(route) == [
        "IngressRoute extra: no schema for traefik.io/v1alpha1 IngressRoute"
    ]
