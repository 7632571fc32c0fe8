"""One place for configuration: every setting is an environment variable (prefix KPIDASH_).

README.md documents each one; tests/test_docs.py checks that every field here is documented.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KPIDASH_", extra="ignore")

    db: Path = Field(
        Path("data/warehouse.duckdb"),
        description="The published DuckDB warehouse file that the KPIs read.",
    )
    archive_dir: Path = Field(
        Path("data/archive"),
        description="Where each load's raw input files and rejected rows are kept, one folder per run.",
    )
    app_db: str = Field(
        "sqlite:///data/app.db",
        description="SQLAlchemy URL of the app's own database (load log, users, tokens, audit log).",
    )
    max_reject_pct: float = Field(
        2.0,
        description="A load fails when more than this percentage of any file's rows are rejected.",
    )
    config_file: Path | None = Field(
        None,
        description="YAML file with targets, tolerances, caseload limit and extra closure days "
        "(default: the packaged config/kpidash.yaml).",
    )


@lru_cache
def get_settings() -> Settings:
    """Read the environment once per process; tests call get_settings.cache_clear()."""
    return Settings()
