"""One place for configuration: every setting is an environment variable (prefix KPIDASH_).

README.md documents each one; tests/test_docs.py checks that every field here is documented.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENV_PREFIX = "KPIDASH_"


class Settings(BaseModel):
    """The settings: the values given, else the KPIDASH_ environment variables (names in any case; an empty
    one counts as unset), else the defaults. Read with pydantic itself rather than pydantic-settings, whose
    import costs every command a tenth of a second (docs/benchmarks.md); the values are strings that
    pydantic converts as it would there."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:  # noqa: ANN401  (what pydantic was given)
        if not isinstance(given, dict):
            return given
        found = {}
        for key, value in os.environ.items():
            name = key.lower().removeprefix(ENV_PREFIX.lower())
            # set but empty (`KPIDASH_CONFIG_FILE=` in a compose file) is unset: the default, not a path "."
            if len(name) < len(key) and name in cls.model_fields and value.strip():
                found[name] = value
        return {**found, **given}

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
        "(default: the packaged kpis/kpi_config.yaml).",
    )
    api_cache: bool = Field(
        True,
        description="Cache API responses per published warehouse version (a new load invalidates them).",
    )
    session_hours: float = Field(
        12.0,
        description="How long a sign-in session (from POST /api/v1/auth/login) lasts, in hours.",
    )
    login_max_failures: int = Field(
        5,
        description="Failed sign-ins in a row after which an account is locked for login_lockout_minutes.",
    )
    login_max_failures_per_address: int = Field(
        20,
        description="Failed sign-ins from one client address within login_lockout_minutes after which "
        "that address is refused until the window passes.",
    )
    login_lockout_minutes: float = Field(
        15.0,
        description="How long an account (or client address) is locked after too many failed sign-ins.",
    )
    api_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL at which the dashboard reaches the API (loopback in the usual one-process setup).",
    )
    freshness_amber_hours: float = Field(
        26.0,
        description="The dashboard's freshness banner turns amber when the last good load is older than this.",
    )
    freshness_red_hours: float = Field(
        50.0,
        description="The dashboard's freshness banner turns red when the last good load is older than this.",
    )
    drop_dir: Path | None = Field(
        None,
        description="Drop folder where the case-management system writes its extract (the contract's CSV "
        "files and manifest.json); the scheduler loads it whenever it changes.",
    )
    sql_source_config: Path | None = Field(
        None,
        description="YAML file naming a SQLAlchemy URL and one SELECT per contract table: the scheduler pulls "
        "the extract from that database instead of a drop folder.",
    )
    refresh_minutes: float = Field(
        15.0,
        description="How often, in minutes, the scheduler looks at the source and loads it if it changed.",
    )
    stable_seconds: float = Field(
        5.0,
        description="A drop-folder file whose size or modification time changes within this many seconds is "
        "still being written and is not loaded yet.",
    )
    history_time: str = Field(
        "23:30",
        description="Local time (HH:MM, Europe/London) at which the scheduler stores the day's published KPI "
        "figures in the history.",
    )
    pack_dir: Path = Field(
        Path("data/packs"),
        description="Where the weekly job writes each team's pack (one XLSX per team, a folder per week).",
    )
    pack_day: str = Field(
        "mon",
        description="Day of the week (mon..sun) on which the weekly team packs are written, at 07:00 local time.",
    )
    smtp_host: str | None = Field(
        None,
        description="SMTP server for emailing the weekly packs; packs are only written to pack_dir when unset.",
    )
    smtp_port: int = Field(25, description="Port of the SMTP server (smtp_host).")
    smtp_from: str = Field(
        "kpidash@localhost",
        description="Sender address of the weekly pack emails.",
    )
    smtp_to: str | None = Field(
        None,
        description="Comma-separated recipients of the weekly pack emails.",
    )
    demo_users: bool = Field(
        True,
        description="Whether `kpidash serve`, on a first start with no users at all, makes one demo user per "
        "role and prints their random passwords once. Right for a laptop trial; the container image sets it "
        "false, and the first administrator is made with `kpidash users add NAME --role admin`.",
    )
    pack_email_records: bool = Field(
        False,
        description="Whether the emailed weekly packs carry the child-level action lists. Off by default: "
        "special-category data must not travel by ordinary email, so the emailed packs give each list's "
        "count only; the copies written to pack_dir are always full.",
    )
    ssd_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the reporting database that holds the Standard Safeguarding Dataset "
        "(ssd_person, ...): the scheduler reads the SSD from it whenever it changes (docs/ssd.md).",
    )
    ssd_schema: str | None = Field(
        None,
        description="Schema of the SSD tables in ssd_url (e.g. ssd_development); the database's default when unset.",
    )
    ssd_config: Path | None = Field(
        None,
        description="YAML file of the SSD source's options: which involvement roles are allocations, the job-title "
        "rules for worker roles, and a team-to-service map (docs/ssd.md).",
    )
    chromium: str | None = Field(
        None,
        description="The headless Chromium (or Chrome) that prints PDFs (QA on a Page); default: the first of "
        "chromium, chromium-browser, google-chrome on the PATH.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (e.g. 10.0.0.5, 10.1.0.0/16) of the reverse proxies in "
        "front of kpidash. Only requests from these are believed when X-Forwarded-For names the client; from "
        "anyone else the header is ignored. Empty: no proxy is trusted.",
    )
    shrink_min_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="A load fails when a file has fewer rows to load than this fraction of the rows the published "
        "warehouse holds for it (so, by default, an empty file where rows were published), unless --allow-shrink "
        "is given; 0 turns the check off.",
    )
    extract_future_tolerance_minutes: float = Field(
        60.0,
        ge=0.0,
        description="How far after now (Europe/London) a manifest's extracted_at may be (clock differences) "
        "before the load is refused as dated in the future.",
    )
    load_memory_limit: str = Field(
        "512MB",
        description="The most memory DuckDB may use while a load validates and builds the warehouse; beyond it "
        "the work spills to disk beside the warehouse.",
    )
    load_threads: int = Field(
        2,
        ge=1,
        description="Threads DuckDB uses for a load (fewer threads also means less memory); an extract under 64 MB "
        "uses one, which is faster at that size (docs/benchmarks.md).",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        from core.networks import trusted_networks

        trusted_networks(value)  # ValueError naming the entry that is not an address or network
        return value
    workers: int = Field(
        1,
        ge=1,
        description="Worker processes `kpidash serve` starts (--workers overrides it). They share the app "
        "database, so a session or a lock-out made in one is valid in every one; each keeps its own response "
        "cache. About one per core: docs/operations.md gives the measured throughput.",
    )
    warm_after_load: bool = Field(
        True,
        description="After each new load, compute the views the dashboard asks for first (Today, the team "
        "pages, the trends) into the response cache before the new version is served, so its first users "
        "do not wait for them.",
    )
    retention_days: int = Field(
        30,
        ge=1,
        description="Days that each load's raw child-level input (the archive's run folders, rejected rows "
        "included) and the weekly pack files are kept; `kpidash prune` (nightly, by the scheduler) removes "
        "older ones, and always keeps the last good load's input.",
    )
    cube: bool = Field(
        True,
        description="Build the daily KPI cube into each published warehouse and answer figures from it; "
        "false counts every figure from the records (the facts engine), as before the cube.",
    )
    token_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long the API trusts a token it has checked before it checks it in the app database "
        "again. Revocations (sign-out, `kpidash tokens revoke`, `users disable`) still take effect at once on every "
        "worker through the sign-out stamp beside the warehouse (docs/api.md); a process on another machine that "
        "does not share that folder sees them within this many seconds; 0 checks every request.",
    )


@lru_cache
def get_settings() -> Settings:
    """Read the environment once per process; tests call get_settings.cache_clear()."""
    return Settings()


def settings_problems(err: Exception) -> str:
    """What the settings refused (a pydantic ValidationError), each named as the operator wrote it:
    `KPIDASH_RETENTION_DAYS ('abc'): input should be a valid integer`."""
    problems = []
    for error in err.errors():  # type: ignore[attr-defined]
        name = "KPIDASH_" + "_".join(map(str, error["loc"])).upper() if error.get("loc") else "a KPIDASH_ setting"
        given = error.get("input")
        shown = f" ({given!r})" if isinstance(given, (str, int, float)) else ""
        said = str(error.get("msg") or "is not valid").removeprefix("Value error, ")
        problems.append(f"{name}{shown}: {said[:1].lower()}{said[1:]}")
    return "; ".join(problems)
