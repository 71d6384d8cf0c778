"""The Dockerfile and .dockerignore: hadolint-clean, multi-stage, non-root, health-checked,
and consistent with what docker-compose.yml runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.dockerfile import (
    DockerIgnore,
    Stage,
    chain,
    effective,
    parse,
    port_of_url_in,
)
from tests.deploy.stack import (
    DOCKERFILE,
    DOCKERIGNORE,
    REPO,
    Stack,
    command_of,
    environment_of,
    listening_port,
    option_value,
)

BIN = Path(sys.executable).parent
HADOLINT_CONFIG = REPO / ".hadolint.yaml"
# Compose service -> (Dockerfile target, pip extra).
IMAGES = {
    "gateway": ("gateway", "gateway"),
    "weather": ("weather", "weather"),
    "jokes": ("jokes", "jokes"),
}


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    """The Dockerfile's stages by name."""
    return parse(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerignore() -> DockerIgnore:
    """The build context's ignore rules."""
    return DockerIgnore(DOCKERIGNORE.read_text(encoding="utf-8"))


def test_dockerfile_passes_hadolint() -> None:
    """hadolint (every rule, failing even on "info") finds nothing to report."""
    hadolint = BIN / "hadolint"
    if not hadolint.exists():
        pytest.fail(f"hadolint is not installed in {BIN}: pip install -e '.[dev]'")
    result = subprocess.run(
        [str(hadolint), "--config", str(HADOLINT_CONFIG), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_ignores_no_rule_without_a_reason() -> None:
    """Any rule in .hadolint.yaml's `ignored` list carries a comment saying why."""
    text = HADOLINT_CONFIG.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert config["failure-threshold"] == "info"
    for rule in config.get("ignored") or []:
        [line] = [line for line in text.splitlines() if line.strip().startswith(f"- {rule}")]
        assert "#" in line, f"{rule} is ignored without a reason"


def test_base_image_is_a_pinned_slim_python(stages: dict[str, Stage]) -> None:
    """Every stage grows from one python:3.11.<patch>-slim image, pinned to a release."""
    external = {stage.base for stage in stages.values() if stage.base not in stages}
    assert len(external) == 1
    [base] = external
    assert re.fullmatch(r"python:3\.11\.\d+-slim-(bookworm|trixie)", base), base


@pytest.mark.parametrize("service", IMAGES)
def test_image_runs_as_an_unprivileged_numeric_user(stages: dict[str, Stage], service: str) -> None:
    """The user in force in each service image is a numeric uid:gid other than root."""
    user = effective(stages, IMAGES[service][0], "USER")
    assert user is not None
    uid, _, gid = user.arguments.partition(":")
    assert uid.isdigit()
    assert gid.isdigit()
    assert int(uid) != 0


@pytest.mark.parametrize("service", IMAGES)
def test_image_checks_health_on_the_port_it_serves(stages: dict[str, Stage], service: str) -> None:
    """HEALTHCHECK calls /health on the port that CMD's --port and EXPOSE name."""
    target = IMAGES[service][0]
    healthcheck, cmd, expose = (
        effective(stages, target, k) for k in ("HEALTHCHECK", "CMD", "EXPOSE")
    )
    assert healthcheck is not None
    assert cmd is not None
    assert expose is not None
    port = option_value(cmd.exec_form(), "--port")
    assert port is not None
    assert port_of_url_in(healthcheck.exec_form()) == int(port) == int(expose.arguments)
    assert "/health" in " ".join(healthcheck.exec_form())


@pytest.mark.parametrize("service", IMAGES)
def test_compose_runs_what_the_image_runs(
    stages: dict[str, Stage], stack: Stack, service: str
) -> None:
    """Compose builds the service's own target and runs its module on the image's port."""
    target = IMAGES[service][0]
    compose_service = stack.service(service)
    assert compose_service["build"]["target"] == target
    cmd = effective(stages, target, "CMD")
    assert cmd is not None
    image_command = cmd.exec_form()
    assert command_of(compose_service)[:3] == image_command[:3]  # python -m <module>
    assert listening_port(compose_service) == int(option_value(image_command, "--port") or 0)
    healthcheck_port = port_of_url_in([str(a) for a in compose_service["healthcheck"]["test"]])
    assert healthcheck_port == listening_port(compose_service)


@pytest.mark.parametrize("service", IMAGES)
def test_image_installs_only_its_own_extra(stages: dict[str, Stage], service: str) -> None:
    """The virtualenv a service image copies was built with that service's extra alone."""
    target, extra = IMAGES[service]
    [venv_copy] = [
        i for i in stages[target].all("COPY") if i.flags().get("from") and "/opt/venv" in i.words()
    ]
    build_stage = stages[venv_copy.flags()["from"]]
    installs = re.findall(
        r"pip install[^&]*?\"?/src\[([a-z,]+)\]",
        " ".join(i.arguments for s in chain(stages, build_stage.name) for i in s.all("RUN")),
    )
    assert installs == [extra]


def test_runtime_stages_install_nothing(stages: dict[str, Stage]) -> None:
    """What runs is copied from build stages: no pip, apt or compiler in a runtime stage."""
    runtime_stages = {s.name for t, _ in IMAGES.values() for s in chain(stages, t)}
    for name in runtime_stages - {"base"}:
        for run in stages[name].all("RUN"):
            assert not re.search(r"\b(pip|apt-get|apt|apk|gcc|make)\b", run.arguments), run
    everything = " ".join(i.arguments for s in stages.values() for i in s.all("RUN"))
    assert not re.search(r"\b(build-essential|gcc|g\+\+)\b", everything)


def test_gateway_image_bundles_verified_graphiql_assets(stages: dict[str, Stage]) -> None:
    """The gateway's build fetches GraphiQL's files and fails unless all are verified."""
    runs = " ".join(i.arguments for i in stages["build-gateway"].all("RUN"))
    assert "python -m gateway.assets" in runs
    assert "python -m gateway.assets --check" in runs


def test_jokes_image_keeps_its_database_on_a_volume(stages: dict[str, Stage], stack: Stack) -> None:
    """The jokes image declares /data a volume, owned by its user, and puts the DB there."""
    volume = effective(stages, "jokes", "VOLUME")
    user = effective(stages, "jokes", "USER")
    assert volume is not None
    assert user is not None
    assert volume.exec_form() == ["/data"]
    [data_copy] = [i for i in stages["jokes"].all("COPY") if i.words()[-1] == "/data"]
    assert data_copy.flags()["chown"] == user.arguments
    assert environment_of(stack.service("jokes"))["JOKE_DB_PATH"].startswith("/data/")


def test_build_context_lets_through_what_the_dockerfile_copies(
    stages: dict[str, Stage], dockerignore: DockerIgnore
) -> None:
    """Every file under each COPY source of the context reaches the builder."""
    sources = [
        source
        for stage in stages.values()
        for copy in stage.all("COPY")
        if "from" not in copy.flags()
        for source in copy.words()[:-1]
    ]
    assert sources
    for source in sources:
        path = REPO / source
        files = (
            [path]
            if path.is_file()
            else [f for f in path.rglob("*.py") if "__pycache__" not in f.parts]
        )
        assert files, source
        for file in files:
            assert not dockerignore.excludes(file.relative_to(REPO).as_posix()), file


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".venv/bin/python",
        ".git/config",
        "var/jokes.sqlite3",
        "tests/deploy/test_dockerfile.py",
        "gateway/__pycache__/main.cpython-311.pyc",
        "gateway/static/vendor/react@18.2.0/umd/react.production.min.js",
        "canaduck.egg-info/PKG-INFO",
    ],
)
def test_build_context_leaves_out_local_files(dockerignore: DockerIgnore, path: str) -> None:
    """Secrets, virtualenvs, git data, databases, tests and build leftovers stay out."""
    assert dockerignore.excludes(path)


def image_environment(stages: dict[str, Stage], name: str) -> dict[str, str]:
    """The ENV in force in a target: its bases' first, its own overriding them."""
    env: dict[str, str] = {}
    for stage in reversed(chain(stages, name)):
        for instruction in stage.all("ENV"):
            for word in shlex.split(instruction.arguments):
                key, _, value = word.partition("=")
                env[key] = value
    return env


@pytest.mark.parametrize("service", IMAGES)
def test_containers_log_json_lines(stages: dict[str, Stage], stack: Stack, service: str) -> None:
    """`docker logs` and log shippers get one JSON object per line: the image says json (a
    container has no terminal, but `auto` would pick console under a `docker run -t`), and
    neither compose nor the Kubernetes settings turn it back."""
    assert image_environment(stages, IMAGES[service][0]).get("CANADUCK_LOG_FORMAT") == "json"
    assert environment_of(stack.services[service]).get("CANADUCK_LOG_FORMAT", "json") == "json"
    for env_file in (REPO / "k8s").rglob("*.env"):
        settings = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
        )
        assert settings.get("CANADUCK_LOG_FORMAT", "json") == "json", env_file


def test_a_console_log_format_in_the_image_is_caught(stages: dict[str, Stage]) -> None:
    """The check above reads the last ENV in force, not the first it meets."""
    mutated = parse(
        DOCKERFILE.read_text(encoding="utf-8")
        + "\nFROM gateway AS console\nENV CANADUCK_LOG_FORMAT=console\n"
    )
    assert image_environment(mutated, "console")["CANADUCK_LOG_FORMAT"] == "console"
