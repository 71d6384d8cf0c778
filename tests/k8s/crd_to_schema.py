"""Turn a CustomResourceDefinition into the JSON schema tests/k8s validates with.

``python -m tests.k8s.crd_to_schema CRD.yaml VERSION OUT.json "ORIGIN"`` (schemas/README.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml


def strict(node: Any) -> Any:
    """``node`` without descriptions, and closed to unknown fields where it lists properties."""
    if isinstance(node, dict):
        out = {key: strict(value) for key, value in node.items() if key != "description"}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False  # what kubectl's strict field validation does
        return out
    if isinstance(node, list):
        return [strict(value) for value in node]
    return node


def convert(crd: dict[str, Any], version: str, origin: str) -> dict[str, Any]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema: dict[str, Any] = strict(served["schema"]["openAPIV3Schema"])
    schema["properties"]["apiVersion"] = {"const": f"{group}/{version}"}
    schema["properties"]["kind"] = {"const": kind}
    required = set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"}
    schema["required"] = sorted(required)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": (
            f"{kind} {group}/{version}: the openAPIV3Schema of {origin}, descriptions "
            "removed, apiVersion/kind pinned. Unknown fields are rejected "
            "(additionalProperties false, as kubectl --validate=strict does). CEL rules "
            "(x-kubernetes-validations) are not evaluated by JSON Schema."
        ),
        **schema,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("crd", type=Path)
    parser.add_argument("version")
    parser.add_argument("out", type=Path)
    parser.add_argument("origin", help="where the CRD came from (recorded in $comment)")
    args = parser.parse_args()
    crd = yaml.safe_load(args.crd.read_text())
    args.out.write_text(
        json.dumps(convert(crd, args.version, args.origin), indent=1, sort_keys=True)
    )


if __name__ == "__main__":
    main()
