"""Every setting a service reads is documented: in .env.example and in docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from gateway.config import GatewaySettings
from joke_service.config import JokeSettings
from weather_service.config import WeatherSettings

ROOT = Path(__file__).resolve().parents[1]


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The primary environment variable of each field (an alias wins over the prefix)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = set()
    for name, field in settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        names.add(str(choices[0]) if choices else (prefix + name).upper())
    return names


ALL = sorted(
    env_names(GatewaySettings)
    | env_names(WeatherSettings)
    | env_names(JokeSettings)
    | {"LOG_LEVEL", "CANADUCK_LOG_FORMAT"}  # read by canaduck.cli, not a settings class
)


def test_settings_are_found() -> None:
    """The lookup itself works (guards the tests below against passing on nothing)."""
    assert {
        "WEATHER_URL",
        "CANADUCK_ENV",
        "GATEWAY_REQUEST_TIMEOUT_SECONDS",
        "WEATHER_PROVIDER",
        "JOKE_DB_PATH",
    } <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_env_example_lists_every_setting(name: str) -> None:
    """.env.example shows each variable (commented, with its default)."""
    text = (ROOT / ".env.example").read_text()
    assert re.search(rf"^#? ?{name}=", text, re.MULTILINE), f"{name} missing from .env.example"


@pytest.mark.parametrize("name", ALL)
def test_configuration_page_lists_every_setting(name: str) -> None:
    """The table in docs/configuration.md has a row for each variable."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert f"| `{name}`" in text, f"{name} missing from the table in docs/configuration.md"
