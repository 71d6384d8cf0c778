"""Compose's shutdown numbers fit the gateway's drain: no request is cut by SIGKILL, and
Traefik stops routing to a stopping replica before it stops accepting."""

from __future__ import annotations

import re

from gateway.config import GatewaySettings
from gateway.main import DRAIN_GRACE_SECONDS
from tests.deploy.stack import Config, environment_of, labels_of, services

DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
HEALTHCHECK = "traefik.http.services.gateway.loadbalancer.healthcheck."


def seconds(duration: str) -> float:
    """A Compose or Traefik duration ("15s", "1500ms", "1m30s") in seconds."""
    parts = DURATION.findall(duration)
    assert parts, duration
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * UNIT_SECONDS[unit] for number, unit in parts)


def gateway_settings(compose_file: Config) -> GatewaySettings:
    """The gateway's settings as the compose file's environment makes them."""
    env = environment_of(services(compose_file)["gateway"])
    names = {f"GATEWAY_{name.upper()}": name for name in GatewaySettings.model_fields}
    values = {names[key]: value for key, value in env.items() if key in names}
    return GatewaySettings.model_validate(values)


def test_stop_grace_period_covers_the_drain_and_requests_in_flight(compose_file: Config) -> None:
    """Docker waits longer than drain + request deadline + its backstop before SIGKILL."""
    settings = gateway_settings(compose_file)
    needed = (
        settings.shutdown_drain_seconds + settings.request_timeout_seconds + DRAIN_GRACE_SECONDS
    )
    grace = services(compose_file)["gateway"].get("stop_grace_period", "10s")
    assert seconds(grace) >= needed + 1.0, (grace, needed)


def test_traefik_notices_a_draining_replica_before_it_stops_accepting(
    compose_file: Config,
) -> None:
    """Traefik probes /ready, and one interval plus its timeout is shorter than the drain."""
    settings = gateway_settings(compose_file)
    labels = labels_of(services(compose_file)["gateway"])
    assert labels[HEALTHCHECK + "path"] == "/ready"
    noticed = seconds(labels[HEALTHCHECK + "interval"]) + seconds(labels[HEALTHCHECK + "timeout"])
    assert noticed < settings.shutdown_drain_seconds
