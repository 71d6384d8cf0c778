"""Validate rendered objects offline against the Kubernetes JSON schemas.

Built-in kinds: the schemas bundled in the ``kubernetes-validate`` package (strict: an
unknown field is an error, as with ``kubectl apply --validate=strict``). Custom resources
(Gateway API HTTPRoute, Traefik Middleware): the schemas vendored in ``schemas/``, taken
from the upstream CRDs (see schemas/README.md). A kind known to neither is an error, so a
new kind cannot slip through unvalidated.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]

from tests.k8s.manifests import Obj, name_of

SCHEMA_DIR = Path(__file__).parent / "schemas"
# The oldest Kubernetes release the manifests target (docs/kubernetes.md): the built-in
# preStop `sleep` action is on by default from 1.30.
KUBERNETES_VERSION = "1.31"
VENDORED = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "httproute-gateway.networking.k8s.io-v1.json",
    ("traefik.io/v1alpha1", "Middleware"): "middleware-traefik.io-v1alpha1.json",
}


@cache
def _vendored(file_name: str) -> Any:
    return json.loads((SCHEMA_DIR / file_name).read_text())


def schema_errors(obj: Obj) -> list[str]:
    """Why ``obj`` is not a valid object of its kind (empty: valid)."""
    where = f"{obj.get('kind')} {name_of(obj)}"
    vendored = VENDORED.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if vendored is not None:
        validator = jsonschema.Draft7Validator(_vendored(vendored))
        return [
            f"{where}: {'.'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{where}: no schema for {obj.get('apiVersion')} {obj.get('kind')}"]
    except kubernetes_validate.ValidationError as error:
        path = ".".join(map(str, error.path))
        return [f"{where}: {path}: {error.message} (Kubernetes {KUBERNETES_VERSION})"]
    return []
