"""docker-compose.yml and traefik/ read the way Compose and Traefik read them, statically.

No Docker engine or Traefik binary runs in CI, so this module rebuilds what Traefik would
derive from the files: the routers (Docker labels of the containers that opt in, plus the
file provider's), the entrypoints each router listens on, the compose service and port each
Traefik service sends to, and the middlewares a router applies. The ``*_problems``
functions return readable findings instead of asserting, so the tests can also prove that
a broken configuration is reported.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.deploy.rules import Request, compile_rule

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
TRAEFIK_STATIC_FILE = REPO / "traefik" / "traefik.yml"
TRAEFIK_DYNAMIC_DIR = REPO / "traefik" / "dynamic"

# Values for the variables the compose file requires, as an operator's .env would give them.
TEST_ENV = {
    "REDIS_PASSWORD": "not-a-real-password",
    "TRAEFIK_DASHBOARD_USERS": "admin:$2y$05$notarealbcrypthashnotarealbcrypthashnotareal",
}

Config = dict[str, Any]


def load_yaml(path: Path) -> Config:
    """One YAML document that must be a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TypeError(f"{path} does not hold a mapping")
    return data


def load_dynamic(directory: Path = TRAEFIK_DYNAMIC_DIR) -> Config:
    """Every file of the file provider's directory, merged as Traefik merges them."""
    merged: Config = {}
    for path in sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")]):
        for section, kinds in load_yaml(path).items():
            for kind, items in kinds.items():
                merged.setdefault(section, {}).setdefault(kind, {}).update(items)
    return merged


# ---------------------------------------------------------------- Compose interpolation

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(LookupError):
    """A ``${VAR:?message}`` whose variable is unset or empty: Compose would refuse to start."""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` with ``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?err}`` resolved."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _substitute(match, env), value)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match["escaped"]:
        return "$"
    name = match["name"] or match["bare"]
    op, arg = match["op"], match["arg"] or ""
    current = env.get(name)
    unset = current is None or (current == "" and op is not None and op.startswith(":"))
    if op in {":?", "?"} and unset:
        raise MissingVariable(f"{name}: {arg}")
    if op in {":-", "-"} and unset:
        return arg
    return current or ""


# ---------------------------------------------------------------- Compose accessors


def services(compose: Config) -> Config:
    """The ``services:`` mapping."""
    result = compose["services"]
    assert isinstance(result, dict)
    return result


def labels_of(service: Config) -> dict[str, str]:
    """A service's labels, from either the list or the mapping form."""
    raw = service.get("labels") or {}
    if isinstance(raw, dict):
        return {str(key): str(value) for key, value in raw.items()}
    return dict(str(item).split("=", 1) for item in raw)


def environment_of(service: Config) -> dict[str, str]:
    """A service's environment, from either the list or the mapping form."""
    raw = service.get("environment") or {}
    if isinstance(raw, dict):
        return {str(key): "" if value is None else str(value) for key, value in raw.items()}
    return dict(str(item).split("=", 1) for item in raw)


def command_of(service: Config) -> list[str]:
    """The service's command as an argument list."""
    raw = service.get("command") or []
    return shlex.split(raw) if isinstance(raw, str) else [str(arg) for arg in raw]


def option_value(arguments: list[str], option: str) -> str | None:
    """The value given to ``--option VALUE`` or ``--option=VALUE``, if any."""
    for index, argument in enumerate(arguments):
        if argument == option and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith(option + "="):
            return argument.split("=", 1)[1]
    return None


def listening_port(service: Config) -> int | None:
    """The port a Canaduck service binds (its command's ``--port``)."""
    port = option_value(command_of(service), "--port")
    return int(port) if port is not None else None


def networks_of(service: Config) -> list[str]:
    """The compose network keys a service joins (Compose's ``default`` when none is named)."""
    raw = service.get("networks")
    if not raw:
        return ["default"]
    return list(raw) if isinstance(raw, dict) else [str(item) for item in raw]


def network_name(compose: Config, key: str) -> str:
    """The Docker name of a compose network: its ``name:``, else ``<project>_<key>``."""
    network = (compose.get("networks") or {}).get(key) or {}
    return str(network.get("name") or f"{compose.get('name', 'canaduck')}_{key}")


def is_internal(compose: Config, key: str) -> bool:
    """Whether a compose network is declared ``internal: true``."""
    network = (compose.get("networks") or {}).get(key) or {}
    return network.get("internal") is True


@dataclass(frozen=True)
class PublishedPort:
    """One ``ports:`` entry: what the host exposes and where it lands in the container."""

    host_ip: str
    published: str
    target: int


def published_ports(service: Config) -> list[PublishedPort]:
    """A service's published ports, from the short (``ip:host:container``) or long syntax."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append(
                PublishedPort(
                    str(entry.get("host_ip", "")),
                    str(entry.get("published", "")),
                    int(entry["target"]),
                )
            )
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        host_ip, published, target = ["", "", *parts][-3:]
        result.append(PublishedPort(host_ip, published, int(target)))
    return result


def volume_sources(service: Config) -> list[str]:
    """The host side (or volume name) of each of a service's mounts."""
    sources = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            sources.append(str(entry.get("source", "")))
        else:
            sources.append(str(entry).split(":", 1)[0])
    return sources


# ---------------------------------------------------------------- Traefik's view


@dataclass(frozen=True)
class Router:
    """An HTTP router as Traefik would build it."""

    name: str  # qualified: "gateway@docker", "api@file"
    rule: str
    entrypoints: tuple[str, ...]  # as declared; empty means Traefik's default ones
    service: str  # qualified
    middlewares: tuple[str, ...]  # qualified
    container: str | None  # the compose service whose labels declare it
    priority: int | None = None  # as declared; Traefik's default is the rule's length

    @property
    def effective_priority(self) -> int:
        return self.priority if self.priority is not None else len(self.rule)


@dataclass(frozen=True)
class Backend:
    """Where a Traefik service sends requests: a compose service and port, or internal."""

    container: str | None
    port: int | None
    internal: str | None = None


def _qualify(reference: str, provider: str) -> str:
    return reference if "@" in reference else f"{reference}@{provider}"


def _nest(flat: Mapping[str, str]) -> Config:
    """``{"a.b.c": v}`` -> ``{"a": {"b": {"c": v}}}``, keys lower-cased as Traefik reads them."""
    tree: Config = {}
    for key, value in flat.items():
        node = tree
        *parents, leaf = key.lower().split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # "tls=true" next to "tls.certresolver=..."
                child = node[part] = {}
            node = child
        node.setdefault(leaf, value)
    return tree


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key).lower(): _lower_keys(item) for key, item in value.items()}
    return value


class Stack:
    """The compose file (interpolated with ``env``) and Traefik's static and dynamic config."""

    def __init__(
        self,
        compose: Config,
        static: Config,
        dynamic: Config,
        env: Mapping[str, str] = TEST_ENV,
    ) -> None:
        self.compose: Config = interpolate(compose, env)
        self.static = static
        self.dynamic = dynamic
        self.project = str(self.compose.get("name", "canaduck"))

    # -- compose side
    @property
    def services(self) -> Config:
        return services(self.compose)

    def service(self, name: str) -> Config:
        result = self.services[name]
        assert isinstance(result, dict)
        return result

    def share_a_network(self, first: str, second: str) -> bool:
        """Whether two compose services can reach each other by name."""
        return bool(set(networks_of(self.service(first))) & set(networks_of(self.service(second))))

    # -- the Docker provider
    @property
    def docker_provider(self) -> Config:
        provider = (self.static.get("providers") or {}).get("docker") or {}
        assert isinstance(provider, dict)
        return provider

    def enabled(self, container: str) -> bool:
        """Whether Traefik builds routes for this container (``exposedByDefault`` is true
        unless set: Traefik's own default)."""
        flag = labels_of(self.service(container)).get("traefik.enable")
        if flag is not None:
            return flag.strip().lower() == "true"
        return self.docker_provider.get("exposedByDefault", True) is not False

    def enabled_containers(self) -> list[str]:
        return [name for name in self.services if self.enabled(name)]

    def docker_labels(self, container: str) -> Config:
        """The container's ``traefik.*`` labels as a nested, lower-cased tree."""
        nested = _nest(labels_of(self.service(container)))
        traefik = nested.get("traefik", {})
        return traefik if isinstance(traefik, dict) else {}

    def _http_labels(self, container: str, kind: str) -> Config:
        http = self.docker_labels(container).get("http", {})
        items = http.get(kind, {}) if isinstance(http, dict) else {}
        return items if isinstance(items, dict) else {}

    # -- routers
    def routers(self) -> list[Router]:
        """Every HTTP router: Docker labels of enabled containers, then the file provider."""
        routers = []
        for container in self.enabled_containers():
            declared = self._http_labels(container, "routers")
            if not declared:
                routers.append(self._default_router(container))
            for name, options in declared.items():
                routers.append(
                    Router(
                        name=f"{name}@docker",
                        rule=str(options.get("rule", "")),
                        entrypoints=_split(options.get("entrypoints")),
                        service=_qualify(str(options.get("service", "")), "docker"),
                        middlewares=tuple(
                            _qualify(m, "docker") for m in _split(options.get("middlewares"))
                        ),
                        container=container,
                        priority=int(options["priority"]) if "priority" in options else None,
                    )
                )
        for name, options in ((self.dynamic.get("http") or {}).get("routers") or {}).items():
            routers.append(
                Router(
                    name=f"{name}@file",
                    rule=str(options.get("rule", "")),
                    entrypoints=tuple(options.get("entryPoints") or ()),
                    service=_qualify(str(options.get("service", "")), "file"),
                    middlewares=tuple(_qualify(m, "file") for m in options.get("middlewares", [])),
                    container=None,
                )
            )
        return routers

    def _default_router(self, container: str) -> Router:
        # What Traefik makes for an enabled container that declares no router: a Host rule
        # on the container's name, to the container's own service, on the default entrypoints.
        name = f"{container}-{self.project}"
        rule = str(self.docker_provider.get("defaultRule") or f"Host(`{name}`)")
        return Router(f"{name}@docker", rule, (), f"{name}@docker", (), container)

    def entrypoints(self) -> Config:
        result = self.static.get("entryPoints") or {}
        assert isinstance(result, dict)
        return result

    def effective_entrypoints(self, router: Router) -> tuple[str, ...]:
        """The entrypoints a router listens on: its own, else the ``asDefault`` ones, else all."""
        if router.entrypoints:
            return router.entrypoints
        defaults = tuple(n for n, ep in self.entrypoints().items() if (ep or {}).get("asDefault"))
        return defaults or tuple(self.entrypoints())

    def routers_for(self, request: Request, entrypoint: str) -> list[Router]:
        """The routers on ``entrypoint`` whose rule matches ``request``."""
        return [
            router
            for router in self.routers()
            if entrypoint in self.effective_entrypoints(router)
            and compile_rule(router.rule)(request)
        ]

    def chosen_routers(self, request: Request, entrypoint: str) -> list[Router]:
        """The router(s) Traefik would pick among those matching: the highest priority
        (one, unless two tie, which the tests report as ambiguous)."""
        matched = self.routers_for(request, entrypoint)
        if not matched:
            return []
        top = max(router.effective_priority for router in matched)
        return [router for router in matched if router.effective_priority == top]

    # -- services
    def backend(self, reference: str) -> Backend | None:
        """Where a qualified Traefik service sends requests, or None if it does not exist."""
        name, _, provider = reference.partition("@")
        if provider == "internal":
            return Backend(None, None, internal=reference)
        if provider == "docker":
            for container in self.enabled_containers():
                options = self._http_labels(container, "services").get(name.lower())
                if isinstance(options, dict):
                    port = ((options.get("loadbalancer") or {}).get("server") or {}).get("port")
                    return Backend(container, int(port) if port is not None else None)
                if name == f"{container}-{self.project}" and not self._http_labels(
                    container, "services"
                ):
                    return Backend(container, None)  # Traefik's default service
            return None
        if provider == "file":
            service = ((self.dynamic.get("http") or {}).get("services") or {}).get(name)
            if service is None:
                return None
            url = urlsplit(service["loadBalancer"]["servers"][0]["url"])
            return Backend(url.hostname, url.port)
        return None

    # -- middlewares
    def middleware(self, reference: str) -> Config | None:
        """A middleware's configuration (keys lower-cased), or None if it does not exist."""
        name, _, provider = reference.partition("@")
        if provider == "file":
            found = ((self.dynamic.get("http") or {}).get("middlewares") or {}).get(name)
            return _lower_keys(found) if isinstance(found, dict) else None
        if provider == "docker":
            for container in self.enabled_containers():
                found = self._http_labels(container, "middlewares").get(name.lower())
                if isinstance(found, dict):
                    return found
        return None

    def applied_middlewares(self, router: Router) -> dict[str, Config | None]:
        """Every middleware a router applies, chains expanded, in order."""
        applied: dict[str, Config | None] = {}
        pending = list(router.middlewares)
        while pending:
            reference = pending.pop(0)
            config = self.middleware(reference)
            applied[reference] = config
            if config and "chain" in config:
                provider = reference.partition("@")[2]
                inner = _split(config["chain"].get("middlewares"))
                pending[:0] = [_qualify(m, provider) for m in inner]
        return applied


def _split(value: Any) -> tuple[str, ...]:
    """A comma-separated label value (or a list) as a tuple of trimmed names."""
    if value is None:
        return ()
    items: Iterable[Any] = value if isinstance(value, list) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


class MutableFiles:
    """Copies of compose, static and dynamic config, and helpers to edit a label."""

    def __init__(self, compose: Config, static: Config, dynamic: Config) -> None:
        self.compose, self.static, self.dynamic = compose, static, dynamic

    def set_label(self, service: str, key: str, value: str) -> None:
        """Replace (or add) one ``key=value`` label of a compose service."""
        labels = self.compose["services"][service].setdefault("labels", [])
        kept = [label for label in labels if not str(label).startswith(key + "=")]
        self.compose["services"][service]["labels"] = [*kept, f"{key}={value}"]

    def stack(self) -> Stack:
        return Stack(self.compose, self.static, self.dynamic)


# ---------------------------------------------------------------- the checks


def public_routing_problems(
    stack: Stack, targets: Iterable[str], *, entrypoint: str, container: str
) -> list[str]:
    """For each public target: exactly one router on ``entrypoint`` takes it, and sends it
    to ``container`` on the port that container's command listens on."""
    problems = []
    expected_port = listening_port(stack.service(container))
    for target in targets:
        matched = stack.routers_for(Request.get(target), entrypoint)
        if len(matched) != 1:
            names = [router.name for router in matched]
            problems.append(f"{target}: {len(matched)} routers match on {entrypoint} {names}")
            continue
        router = matched[0]
        backend = stack.backend(router.service)
        if backend is None:
            problems.append(f"{target}: router {router.name} names unknown {router.service}")
        elif backend.container != container:
            problems.append(f"{target}: lands on {backend.container or backend.internal}")
        elif backend.port is None or backend.port != expected_port:
            problems.append(
                f"{target}: sent to port {backend.port} but {container} listens on {expected_port}"
            )
    return problems


def private_routing_problems(stack: Stack, targets: Iterable[str], *, entrypoint: str) -> list[str]:
    """Every target that some router on ``entrypoint`` would take (none should)."""
    return [
        f"{target}: routed by {[router.name for router in matched]}"
        for target in targets
        if (matched := stack.routers_for(Request.get(target), entrypoint))
    ]


def upstream_problems(stack: Stack, client: str, variables: Mapping[str, str]) -> list[str]:
    """Each URL variable of ``client`` names a compose service it shares a network with, on
    the port that service listens on (``variables`` maps the variable to the service)."""
    problems = []
    environment = environment_of(stack.service(client))
    for variable, service_name in variables.items():
        url = urlsplit(environment.get(variable, ""))
        if url.hostname != service_name:
            problems.append(f"{variable}={url.geturl()!r}: host is not {service_name!r}")
            continue
        if service_name not in stack.services:
            problems.append(f"{variable}: no compose service {service_name!r}")
            continue
        port = listening_port(stack.service(service_name))
        if port is not None and url.port != port:
            problems.append(f"{variable}: port {url.port} but {service_name} listens on {port}")
        if not stack.share_a_network(client, service_name):
            problems.append(f"{variable}: {client} and {service_name} share no network")
    return problems
