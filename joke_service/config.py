from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from joke_service.store import Lang


class JokeSettings(BaseSettings):
    """The joke service's settings, read from ``JOKE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="JOKE_", extra="ignore")

    # Relative to the working directory, so a developer checkout keeps its database under
    # the git-ignored /var/; containers point JOKE_DB_PATH at a volume instead.
    db_path: Path = Field(
        default=Path("var/jokes.sqlite3"),
        description="SQLite file holding the jokes; created and seeded at first start.",
    )
    default_lang: Lang = Field(default="fr", description="Language of GET /joke without ?lang=.")
