"""Checkov's Kubernetes security scan: every failure is a listed, explained skip."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.k8s.checkov_scan import SKIPS_FILE, checkov_path, failed_checks, skips
from tests.k8s.conftest import rendered_overlay
from tests.k8s.manifests import OVERLAYS, Obj, find
from tests.support.prerequisites import require

MUTATED = "mutated-prod"


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Failed check ids per overlay, plus a prod copy whose gateway root is writable."""
    checkov = checkov_path()
    require(
        checkov is not None and Path(checkov).exists(),
        "no checkov (looked at $CANADUCK_CHECKOV, .venv-tools/bin/checkov, PATH): "
        "`python3 -m venv .venv-tools && .venv-tools/bin/pip install checkov`, as .ci/run does",
    )
    assert checkov is not None
    rendered = {overlay: rendered_overlay(overlay) for overlay in OVERLAYS}
    mutated: list[Obj] = copy.deepcopy(rendered["prod"])
    gateway = find(mutated, "Deployment", "gateway")
    del gateway["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFilesystem"
    ]
    rendered[MUTATED] = mutated
    return failed_checks(checkov, rendered, tmp_path_factory.mktemp("checkov"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_unexplained_failure(failures: dict[str, set[str]], overlay: str) -> None:
    """Every check Checkov fails on the overlay is listed with its reason in checkov-skips.yaml."""
    assert failures[overlay] - skips(overlay).keys() == set()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_stale_skip(failures: dict[str, set[str]], overlay: str) -> None:
    """Every listed skip still fails on the overlay (otherwise delete it from the list)."""
    assert skips(overlay).keys() - failures[overlay] == set()


def test_a_writable_root_filesystem_is_flagged(failures: dict[str, set[str]]) -> None:
    """Checkov reports CKV_K8S_22 once the gateway's readOnlyRootFilesystem is removed."""
    assert "CKV_K8S_22" in failures[MUTATED] - failures["prod"]


def test_every_skip_gives_a_reason() -> None:
    """Each skipped check in checkov-skips.yaml has a reason of a full sentence or more."""
    for overlay in OVERLAYS:
        for check, reason in skips(overlay).items():
            assert len(str(reason).split()) >= 8, f"{check} in {SKIPS_FILE.name}: {reason!r}"
