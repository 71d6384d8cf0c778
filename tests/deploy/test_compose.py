"""docker-compose.yml: valid for the Compose Specification, and hardened as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gateway.config import GatewaySettings
from tests.deploy.stack import (
    COMPOSE_FILE,
    TEST_ENV,
    Config,
    MissingVariable,
    MutableFiles,
    Stack,
    environment_of,
    interpolate,
    is_internal,
    load_yaml,
    network_name,
    networks_of,
    option_value,
    published_ports,
    upstream_problems,
    volume_sources,
)

BIN = Path(sys.executable).parent
DOCKER_SOCKET = "/var/run/docker.sock"
# The Docker API sections Traefik's provider reads; anything else granted is a finding.
SOCKET_PROXY_READS = {"CONTAINERS", "EVENTS", "PING", "VERSION"}
SERVICE_NAMES = list(load_yaml(COMPOSE_FILE)["services"])


def tool(name: str) -> str:
    """A command-line tool installed in this virtualenv (by the dev extra)."""
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {BIN}: pip install -e '.[dev]'")
    return str(path)


def test_compose_file_validates_against_the_compose_specification() -> None:
    """check-jsonschema's vendored Compose Specification schema accepts the file (offline)."""
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_has_no_version_key(compose_file: Config) -> None:
    """The Compose Specification dropped `version:`; the file does not carry one."""
    assert "version" not in compose_file


def test_required_secrets_stop_compose_when_missing(compose_file: Config) -> None:
    """Without REDIS_PASSWORD or TRAEFIK_DASHBOARD_USERS, interpolation fails at once."""
    for missing in TEST_ENV:
        env = {name: value for name, value in TEST_ENV.items() if name != missing}
        with pytest.raises(MissingVariable, match=missing):
            interpolate(compose_file, env)
    with pytest.raises(MissingVariable):
        interpolate(compose_file, {**TEST_ENV, "REDIS_PASSWORD": ""})


def test_only_traefik_publishes_host_ports(stack: Stack) -> None:
    """No service but Traefik has a `ports:` entry; the stack is reached through it only."""
    publishing = [name for name, service in stack.services.items() if service.get("ports")]
    assert publishing == ["traefik"]


def test_traefik_publishes_web_publicly_and_the_dashboard_on_loopback(stack: Stack) -> None:
    """:80 goes to the web entrypoint; the dashboard port is bound to 127.0.0.1 only."""
    entrypoints = stack.entrypoints()
    ports = {p.target: p for p in published_ports(stack.service("traefik"))}
    web_port = int(entrypoints["web"]["address"].rsplit(":", 1)[1])
    dashboard_port = int(entrypoints["dashboard"]["address"].rsplit(":", 1)[1])
    assert set(ports) == {web_port, dashboard_port}
    assert (ports[web_port].published, web_port) == ("80", 80)
    assert ports[dashboard_port].host_ip == "127.0.0.1"


def test_docker_socket_is_mounted_only_into_the_socket_proxy(stack: Stack) -> None:
    """Exactly one container mounts docker.sock, and it is the socket proxy, not Traefik."""
    mounting = [
        name
        for name, service in stack.services.items()
        if any("docker.sock" in source for source in volume_sources(service))
    ]
    assert mounting == ["socket-proxy"]
    assert DOCKER_SOCKET in volume_sources(stack.service("socket-proxy"))


def test_traefik_reads_docker_through_the_socket_proxy(stack: Stack) -> None:
    """The Docker provider's endpoint is the proxy's service name and port, on a shared network."""
    endpoint = urlsplit(stack.docker_provider["endpoint"])
    assert (endpoint.scheme, endpoint.hostname, endpoint.port) == ("tcp", "socket-proxy", 2375)
    assert stack.share_a_network("traefik", "socket-proxy")


def test_socket_proxy_grants_read_only_container_queries(stack: Stack) -> None:
    """The proxy allows GETs on containers (plus events, ping, version) and nothing else."""
    environment = environment_of(stack.service("socket-proxy"))
    granted = {name for name, value in environment.items() if value.strip() in {"1", "true"}}
    assert "CONTAINERS" in granted
    assert granted <= SOCKET_PROXY_READS, granted - SOCKET_PROXY_READS
    assert environment.get("POST") == "0"


def test_socket_proxy_lives_on_an_internal_network_with_traefik_alone(stack: Stack) -> None:
    """Each network of the proxy is internal and has no member but the proxy and Traefik."""
    for key in networks_of(stack.service("socket-proxy")):
        assert is_internal(stack.compose, key), key
        members = {n for n, s in stack.services.items() if key in networks_of(s)}
        assert members == {"socket-proxy", "traefik"}, (key, members)


def test_internal_services_stay_off_the_edge_network(stack: Stack) -> None:
    """weather, jokes and redis are not on Traefik's network, so it could not reach them."""
    edge = set(networks_of(stack.service("traefik")))
    for name in ("weather", "jokes", "redis"):
        assert not edge & set(networks_of(stack.service(name))), name


def test_service_to_service_network_is_internal(stack: Stack) -> None:
    """The network the gateway uses to call weather, jokes and redis has no route out."""
    shared = set(networks_of(stack.service("gateway"))) & set(networks_of(stack.service("jokes")))
    assert shared
    assert all(is_internal(stack.compose, key) for key in shared)


def test_traefik_reaches_the_gateway_on_their_shared_network(stack: Stack) -> None:
    """The network Traefik is told to use is one that Traefik and the gateway both join."""
    label = stack.docker_labels("gateway").get("docker", {}).get("network")
    for wanted in {stack.docker_provider["network"], label} - {None}:
        keys = [k for k in stack.compose["networks"] if network_name(stack.compose, k) == wanted]
        assert keys, f"no compose network is named {wanted}"
        assert keys[0] in networks_of(stack.service("gateway"))
        assert keys[0] in networks_of(stack.service("traefik"))


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_has_a_healthcheck(stack: Stack, name: str) -> None:
    """Every service declares a healthcheck that is not disabled."""
    healthcheck = stack.service(name).get("healthcheck") or {}
    assert healthcheck.get("test"), name
    assert not healthcheck.get("disable"), name
    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    assert healthcheck["test"] != ["NONE"]


def test_dependencies_wait_until_healthy(stack: Stack) -> None:
    """Every depends_on waits for service_healthy, so no traffic reaches a cold service."""
    for name, service in stack.services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: short depends_on waits for start only"
        for dependency, options in depends.items():
            assert options.get("condition") == "service_healthy", (name, dependency)


def test_gateway_waits_for_its_upstreams_and_cache(stack: Stack) -> None:
    """The gateway starts after weather, jokes and redis are healthy."""
    assert set(stack.service("gateway")["depends_on"]) == {"weather", "jokes", "redis"}


def test_gateway_upstream_urls_name_the_services_and_their_ports(stack: Stack) -> None:
    """WEATHER_URL and JOKE_URL point at the compose services, on the port each listens on."""
    assert (
        upstream_problems(stack, "gateway", {"WEATHER_URL": "weather", "JOKE_URL": "jokes"}) == []
    )
    environment = environment_of(stack.service("gateway"))
    assert (environment["WEATHER_URL"], environment["JOKE_URL"]) == (
        "http://weather:8001",
        "http://jokes:8002",
    )


def test_a_wrong_upstream_port_is_reported(mutable: MutableFiles) -> None:
    """The upstream check reports a URL whose port the service does not listen on."""
    mutable.compose["services"]["gateway"]["environment"]["JOKE_URL"] = "http://jokes:8001"
    problems = upstream_problems(mutable.stack(), "gateway", {"JOKE_URL": "jokes"})
    assert problems == ["JOKE_URL: port 8001 but jokes listens on 8002"]


def test_gateway_cache_is_the_shared_redis(stack: Stack) -> None:
    """CACHE_URL names the redis service on 6379, with the password redis requires."""
    url = urlsplit(environment_of(stack.service("gateway"))["CACHE_URL"])
    assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379)
    assert url.password == TEST_ENV["REDIS_PASSWORD"]
    redis_command = [str(arg) for arg in stack.service("redis")["command"]]
    assert option_value(redis_command, "--requirepass") == TEST_ENV["REDIS_PASSWORD"]
    assert option_value(redis_command, "--port") in {None, "6379"}
    assert stack.share_a_network("gateway", "redis")


def test_gateway_can_scale_behind_traefik(stack: Stack) -> None:
    """No fixed container name and no host port: `--scale gateway=3` starts three replicas."""
    gateway = stack.service("gateway")
    assert "container_name" not in gateway
    assert "ports" not in gateway


def test_gateway_runs_with_production_settings(stack: Stack) -> None:
    """The gateway is in production mode: no GraphiQL page, bounded deadlines and bodies."""
    environment = environment_of(stack.service("gateway"))
    assert environment["CANADUCK_ENV"] == "production"
    assert environment["GATEWAY_GRAPHIQL"].lower() == "false"
    upstream = float(environment["GATEWAY_UPSTREAM_TIMEOUT_SECONDS"])
    assert upstream < float(environment["GATEWAY_REQUEST_TIMEOUT_SECONDS"])
    assert int(environment["GATEWAY_MAX_REQUEST_BODY_BYTES"]) <= 64 * 1024


def test_gateway_keeps_the_federation_subgraph_off(stack: Stack) -> None:
    """The gateway's settings, read from the compose environment, serve no subgraph."""
    environment = environment_of(stack.service("gateway"))
    settings = GatewaySettings(
        env=environment["CANADUCK_ENV"], subgraph=environment.get("GATEWAY_SUBGRAPH")
    )
    assert settings.production
    assert not settings.subgraph_enabled


def test_jokes_database_is_on_a_named_volume(stack: Stack) -> None:
    """JOKE_DB_PATH lies under a mount of a volume declared at the top level."""
    db_path = environment_of(stack.service("jokes"))["JOKE_DB_PATH"]
    mounts = [str(v).split(":") for v in stack.service("jokes")["volumes"]]
    [volume] = [m[0] for m in mounts if db_path.startswith(m[1].rstrip("/") + "/")]
    assert volume in stack.compose["volumes"]


@pytest.mark.parametrize("name", ["gateway", "weather", "jokes"])
def test_app_containers_are_locked_down(stack: Stack, name: str) -> None:
    """Our services run read-only, with no capabilities and no privilege escalation."""
    service = stack.service(name)
    assert service.get("read_only") is True
    assert service.get("cap_drop") == ["ALL"]
    assert not service.get("cap_add")
    assert "no-new-privileges:true" in service.get("security_opt", [])
    assert not service.get("privileged")


def test_images_are_pinned(stack: Stack) -> None:
    """Pulled images name an exact version, never `latest`; Traefik is a v3 release."""
    for name, service in stack.services.items():
        if "build" in service:
            continue
        image = str(service["image"])
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag not in {"", "latest"}, (name, image)
        assert tag.count(".") >= 2, f"{name}: {image} names no exact release"
    assert stack.service("traefik")["image"].startswith("traefik:v3.")
