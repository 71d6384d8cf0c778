"""traefik/: the static configuration and the dynamic files, checked key by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.stack import (
    TRAEFIK_DYNAMIC_DIR,
    Config,
    Stack,
    labels_of,
    load_yaml,
    published_ports,
)
from tests.deploy.traefik_keys import DYNAMIC, STATIC, is_known_label, unknown_keys


def test_static_configuration_uses_only_known_options(static_config: Config) -> None:
    """Every key of traefik.yml is a Traefik v3 static option (Traefik refuses unknown ones)."""
    assert list(unknown_keys(static_config, STATIC)) == []


@pytest.mark.parametrize("path", sorted(TRAEFIK_DYNAMIC_DIR.glob("*.y*ml")), ids=lambda p: p.name)
def test_dynamic_file_uses_only_known_options(path: Path) -> None:
    """Every key of a dynamic file is a Traefik v3 routing option."""
    assert list(unknown_keys(load_yaml(path), DYNAMIC)) == []


def test_every_traefik_label_is_a_known_option(stack: Stack) -> None:
    """A misspelt label (say `entrypoint=` for `entrypoints=`) is silently ignored by Traefik."""
    for name, service in stack.services.items():
        unknown = [key for key in labels_of(service) if not is_known_label(key)]
        assert unknown == [], name


def test_key_check_reports_a_misspelt_option(static_config: Config) -> None:
    """The key check flags a plausible typo rather than passing it."""
    broken = {**static_config, "providers": {"docker": {"exposedbydefault": False}}}
    assert list(unknown_keys(broken, STATIC)) == ["providers.docker.exposedbydefault"]
    assert not is_known_label("traefik.http.routers.gateway.entrypoint")


def test_api_is_not_insecure(static_config: Config) -> None:
    """api.insecure (an open dashboard on every interface) is not set."""
    assert not (static_config.get("api") or {}).get("insecure", False)


def test_docker_provider_exposes_nothing_by_default(static_config: Config) -> None:
    """exposedByDefault is false: a container is routed only if it opts in."""
    assert static_config["providers"]["docker"]["exposedByDefault"] is False


def test_ping_is_served_on_a_private_entrypoint(stack: Stack) -> None:
    """/ping (the healthcheck) lives on its own entrypoint, which compose does not publish."""
    entrypoint = stack.static["ping"]["entryPoint"]
    address = int(stack.entrypoints()[entrypoint]["address"].rsplit(":", 1)[1])
    assert entrypoint != "web"
    published = [p.target for s in stack.services.values() for p in published_ports(s)]
    assert address not in published


def test_only_the_public_entrypoint_takes_unassigned_routers(stack: Stack) -> None:
    """`web` is the one asDefault entrypoint, so a router without entrypoints is never private."""
    defaults = [n for n, ep in stack.entrypoints().items() if (ep or {}).get("asDefault")]
    assert defaults == ["web"]


def test_public_entrypoint_refuses_encoded_path_separators(static_config: Config) -> None:
    """%2F, %5C, %00 and friends in the path get a 400 before any routing."""
    encoded = static_config["entryPoints"]["web"]["http"]["encodedCharacters"]
    assert encoded
    assert not any(encoded.values())


def test_public_entrypoint_times_out_slow_clients(static_config: Config) -> None:
    """Reading a whole request has a deadline (slowloris), as does an idle keep-alive."""
    timeouts = static_config["entryPoints"]["web"]["transport"]["respondingTimeouts"]
    assert set(timeouts) >= {"readTimeout", "writeTimeout", "idleTimeout"}


def test_idle_upstream_connections_close_before_uvicorn_drops_them(static_config: Config) -> None:
    """Traefik's idle timeout to backends is below uvicorn's 5 s keep-alive (no stale 502s)."""
    idle = static_config["serversTransport"]["forwardingTimeouts"]["idleConnTimeout"]
    assert idle.endswith("s")
    assert float(idle.removesuffix("s")) < 5


def test_static_configuration_does_not_phone_home(static_config: Config) -> None:
    """No version check and no anonymous usage reports from production."""
    assert static_config["global"] == {"checkNewVersion": False, "sendAnonymousUsage": False}
