"""Fixtures: the deployment files, parsed once; tests that mutate them take a deep copy."""

from __future__ import annotations

import copy

import pytest

from tests.deploy.stack import (
    COMPOSE_FILE,
    TRAEFIK_STATIC_FILE,
    Config,
    MutableFiles,
    Stack,
    load_dynamic,
    load_yaml,
)


@pytest.fixture(scope="session")
def compose_file() -> Config:
    """docker-compose.yml as written (variables not yet interpolated)."""
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="session")
def static_config() -> Config:
    """traefik/traefik.yml."""
    return load_yaml(TRAEFIK_STATIC_FILE)


@pytest.fixture(scope="session")
def dynamic_config() -> Config:
    """traefik/dynamic/*.yml, merged."""
    return load_dynamic()


@pytest.fixture(scope="session")
def stack(compose_file: Config, static_config: Config, dynamic_config: Config) -> Stack:
    """The whole deployment as Traefik and Compose see it."""
    return Stack(compose_file, static_config, dynamic_config)


@pytest.fixture
def mutable(compose_file: Config, static_config: Config, dynamic_config: Config) -> MutableFiles:
    """Private copies of the three files, to break on purpose."""
    return MutableFiles(
        copy.deepcopy(compose_file), copy.deepcopy(static_config), copy.deepcopy(dynamic_config)
    )
