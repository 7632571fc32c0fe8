"""`kpidash doctor`: every check passes on a healthy deployment, and each fault is named, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import ops_commands
from core.settings import get_settings
from etl.refresh import refresh

app = typer.Typer(pretty_exceptions_enable=False)
ops_commands.register(app)


def doctor() -> tuple[int, dict[str, str]]:
    result = CliRunner().invoke(app, ["doctor"])
    assert "Traceback" not in result.output
    lines = {}
    for line in result.output.splitlines():
        status, rest = line.split(maxsplit=1)
        name = next(n for n in ("configuration", "source", "folders", "disk space", "warehouse", "kept copy",
                                "app database")
                    if rest.startswith(n))
        lines[name] = f"{status} {rest[len(name):].strip()}"
    return result.exit_code, lines


@pytest.fixture
def healthy(drop: Path) -> Path:
    assert refresh().action == "loaded"
    return drop


def test_a_healthy_deployment_passes_every_check(healthy: Path) -> None:
    code, lines = doctor()
    assert code == 0, lines
    assert set(lines) == {"configuration", "source", "folders", "disk space", "warehouse", "kept copy",
                          "app database"}
    assert all(v.startswith("OK") for v in lines.values()), lines


def test_a_corrupt_warehouse_is_named_with_what_to_do(healthy: Path) -> None:
    get_settings().db.write_bytes(b"this is not a duckdb file" * 100)
    code, lines = doctor()
    assert code == 1
    assert lines["warehouse"].startswith("FAIL") and "cannot be read" in lines["warehouse"]
    assert "kpidash load" in lines["warehouse"]
    # the load's kept copy is intact, and the operator is told the API serves it meanwhile
    assert lines["kept copy"].startswith("OK")
    assert "meanwhile the API serves the kept copy" in lines["warehouse"]


def test_a_missing_or_damaged_kept_copy_is_a_warning(healthy: Path) -> None:
    kept = Path(f"{get_settings().db}.last-good")
    kept.write_bytes(b"damaged" * 100)
    code, lines = doctor()
    assert code == 0 and lines["kept copy"].startswith("WARN") and "cannot be read" in lines["kept copy"]
    assert "meanwhile" not in lines["warehouse"]
    kept.unlink()
    code, lines = doctor()
    assert code == 0 and lines["kept copy"].startswith("WARN") and "no kept copy" in lines["kept copy"]


def test_an_unreachable_app_database_and_source_fail(healthy: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KPIDASH_APP_DB", "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    monkeypatch.setenv("KPIDASH_DROP_DIR", str(tmp_path / "gone"))
    get_settings.cache_clear()
    code, lines = doctor()
    assert code == 1
    assert lines["app database"].startswith("FAIL") and "cannot be reached" in lines["app database"]
    assert lines["source"].startswith("FAIL") and "gone" in lines["source"]


def test_bad_settings_are_named(monkeypatch) -> None:
    monkeypatch.setenv("KPIDASH_REFRESH_MINUTES", "often")
    get_settings.cache_clear()
    code, lines = doctor()
    assert code == 1 and "KPIDASH_REFRESH_MINUTES" in lines["configuration"]
    monkeypatch.setenv("KPIDASH_REFRESH_MINUTES", "15")
    monkeypatch.setenv("KPIDASH_HISTORY_TIME", "25:99")
    get_settings.cache_clear()
    code, lines = doctor()
    assert code == 1 and "KPIDASH_HISTORY_TIME" in lines["configuration"]


def test_no_warehouse_yet_fails_and_no_source_only_warns() -> None:
    code, lines = doctor()
    assert code == 1
    assert lines["source"].startswith("WARN") and lines["warehouse"].startswith("FAIL")
    assert "kpidash load" in lines["warehouse"]


def test_a_file_where_a_folder_should_be_fails_and_a_missing_sqlite_file_is_not_made(
        healthy: Path, tmp_path: Path, monkeypatch) -> None:
    """An operations audit: KPIDASH_ARCHIVE_DIR naming a file passed every check (every load then failed),
    and a mistyped SQLite KPIDASH_APP_DB was created by doctor itself, then reported as reachable."""
    a_file = tmp_path / "archive-is-a-file"
    a_file.write_text("not a folder")
    typo = tmp_path / "no-such-folder" / "app.db"
    monkeypatch.setenv("KPIDASH_ARCHIVE_DIR", str(a_file / "runs"))
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///{typo}")
    get_settings.cache_clear()
    code, lines = doctor()
    assert code == 1 and lines["folders"].startswith("FAIL") and "is a file, not a folder" in lines["folders"]
    assert lines["app database"].startswith("WARN") and "no app database at" in lines["app database"]
    assert not typo.parent.exists()  # looked at, not made


def test_an_app_database_that_cannot_be_written_fails(healthy: Path, monkeypatch) -> None:
    """An operations audit: a read-only app database passed (no sign-in could then be kept). Opened read-only
    through SQLite's own URI mode, since these tests run as root, whom file permissions do not stop."""
    path = get_settings().app_db.removeprefix("sqlite:///")
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///file:{path}?mode=ro&uri=true")
    get_settings.cache_clear()
    code, lines = doctor()
    assert code == 1 and lines["app database"].startswith("FAIL"), lines["app database"]
    assert "can be read but not written (attempt to write a readonly database)" in lines["app database"]
