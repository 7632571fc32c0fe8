"""The settings come from the KPIDASH_ environment variables as pydantic-settings read them: any case, the
values given first, strings converted by pydantic, an invalid value refused naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_settings_are_read_from_the_environment_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_DB", "/srv/kpidash/warehouse.duckdb")
    monkeypatch.setenv("kpidash_max_reject_pct", "7.5")
    monkeypatch.setenv("KPIDASH_CUBE", "false")
    monkeypatch.setenv("KPIDASH_LOAD_THREADS", "3")
    monkeypatch.setenv("KPIDASH_NOT_A_SETTING", "x")  # ignored
    monkeypatch.setenv("OTHER_DB", "/nowhere")  # not ours
    monkeypatch.delenv("KPIDASH_ARCHIVE_DIR", raising=False)  # (the test run sets it)
    settings = Settings()
    assert settings.db == Path("/srv/kpidash/warehouse.duckdb")
    assert (settings.max_reject_pct, settings.cube, settings.load_threads) == (7.5, False, 3)
    assert settings.archive_dir == Path("data/archive")  # the default


def test_a_variable_set_empty_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_CONFIG_FILE", "")  # a path "." would be a folder: "cannot read the KPI configuration"
    monkeypatch.setenv("KPIDASH_DB", "  ")
    monkeypatch.setenv("KPIDASH_CUBE", "")  # not refused as neither true nor false
    settings = Settings()
    assert (settings.config_file, settings.db, settings.cube) == (None, Path("data/warehouse.duckdb"), True)


def test_values_given_come_before_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_LOGIN_MAX_FAILURES", "9")
    monkeypatch.setenv("KPIDASH_SESSION_HOURS", "2")
    settings = Settings(login_max_failures=3)
    assert (settings.login_max_failures, settings.session_hours) == (3, 2.0)


@pytest.mark.parametrize(("name", "value"), [("KPIDASH_LOAD_THREADS", "0"), ("KPIDASH_CUBE", "perhaps"),
                                             ("KPIDASH_SHRINK_MIN_FRACTION", "2")])
def test_an_invalid_value_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("KPIDASH_").lower()):
        Settings()
