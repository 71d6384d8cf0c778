"""Run Checkov's Kubernetes checks on rendered overlays, offline.

Checkov's pinned dependencies would downgrade the project's (packaging 23.2) and add ~60
packages, so it lives in its own virtualenv, which .ci/run creates (``.venv-tools``). The
tests find it at ``$CANADUCK_CHECKOV``, else ``.venv-tools/bin/checkov``, else on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.k8s.manifests import ROOT, Obj

SKIPS_FILE = Path(__file__).parent / "checkov-skips.yaml"
TOOLS_CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


def checkov_path() -> str | None:
    configured = os.environ.get("CANADUCK_CHECKOV")
    if configured:
        return configured
    if TOOLS_CHECKOV.exists():
        return str(TOOLS_CHECKOV)
    return shutil.which("checkov")


def skips(overlay: str) -> dict[str, str]:
    """Check id -> reason, for ``overlay`` (the ``all`` list plus the overlay's own)."""
    config = yaml.safe_load(SKIPS_FILE.read_text())
    return {**(config.get("all") or {}), **(config.get(overlay) or {})}


def failed_checks(
    checkov: str, rendered: dict[str, list[Obj]], workdir: Path
) -> dict[str, set[str]]:
    """Overlay -> ids of the checks that fail on it (one Checkov run for all overlays)."""
    for overlay, objects in rendered.items():
        (workdir / f"{overlay}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    result = subprocess.run(
        [
            checkov,
            "--directory",
            str(workdir),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--compact",
            # Offline: no policy downloads, no calls home, no version check.
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    # Exit 1 means "some check failed"; anything else is Checkov itself failing.
    if result.returncode not in (0, 1):
        raise AssertionError(f"checkov exited {result.returncode}:\n{result.stderr[-3000:]}")
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed: dict[str, set[str]] = {overlay: set() for overlay in rendered}
    parsed = 0
    for report in reports:
        if report.get("check_type") != "kubernetes":
            continue
        parsed += report["summary"]["passed"] + report["summary"]["failed"]
        if report["summary"].get("parsing_errors"):
            raise AssertionError(
                f"checkov could not parse: {report['results'].get('parsing_errors')}"
            )
        for check in report["results"]["failed_checks"]:
            overlay = Path(check["file_path"]).stem
            failed[overlay].add(check["check_id"])
    if parsed == 0:
        raise AssertionError(f"checkov ran no check:\n{result.stdout[:2000]}")
    return failed
