"""`kpidash backup` / `kpidash restore`: a backup made while the service answers, restored into a fresh
instance (SQLite, and PostgreSQL where a server is named), gives the same figures, users, sessions,
audit trail, load log, history and every other app-database table."""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from extract_builder import build_extract
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, create_engine, select, text
from typer.testing import CliRunner

from api import accounts, audit
from api.app import create_app
from cli import api_commands, data_commands
from core import appdb
from core.settings import get_settings
from etl import load_extract
from scheduler.history import store_snapshot
from tests.etl.load_support import own_settings

app = typer.Typer()
data_commands.register(app)
api_commands.register(app)
runner = CliRunner()
PASSWORD = "Backup-test-pass-1!"


def _app_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every app-database table (reflected: whatever tables there are), in id order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            meta = MetaData()
            meta.reflect(conn)
            return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in meta.sorted_tables if t.name != "alembic_version"}
    finally:
        engine.dispose()


def _figures(client: Any, token: str) -> Any:
    answer = client.get("/api/v1/kpis", params={"level": "team"}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A live instance: a load, users, a session, audited record views, a history snapshot."""
    folder = build_extract(tmp_path / "extract")
    assert load_extract(folder).status == "published"
    engine = appdb.get_engine()
    accounts.add_user(engine, "ann.admin", "admin", None, None, PASSWORD)
    accounts.add_user(engine, "tom.manager", "team_manager", "T1", None, PASSWORD)
    store_snapshot(engine, get_settings().db)
    yield {"extract": folder}


def _serve(tmp_path: Path):  # noqa: ANN202
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(check_interval=0.0), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _restore_and_compare(tmp_path: Path, backup_file: Path, fresh_app_db: str, before: dict[str, list[tuple]],
                         figures: Any, token: str) -> None:
    fresh = tmp_path / "fresh"
    with own_settings(fresh, app_db=fresh_app_db):
        result = runner.invoke(app, ["restore", str(backup_file)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("Restored ")
        after = _app_rows(fresh_app_db)
        restored_entry = after["audit_log"].pop()  # the restore itself is the newest audit entry
        assert restored_entry[2] == "restore"
        assert after == before, "every table, every row, every id"
        # the same figures, and the same session token works on the restored instance
        with TestClient(create_app()) as client:
            assert _figures(client, token) == figures
            assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["username"] == \
                "ann.admin"
        # new rows get new ids after the restored ones (sequences carried on PostgreSQL)
        engine = appdb.get_engine()
        user, _ = accounts.add_user(engine, "new.user", "analyst", None, None, PASSWORD)
        assert user.id == max(r[0] for r in before["users"]) + 1
        # a second restore into the now-used database is refused unless asked to replace it
        again = runner.invoke(app, ["restore", str(backup_file)])
        assert again.exit_code == 1 and "already holds data" in again.stderr
        engine.dispose()
        assert runner.invoke(app, ["restore", str(backup_file), "--replace"]).exit_code == 0
        appdb.get_engine().dispose()
        appdb.get_engine.cache_clear()


def _backup_while_serving(tmp_path: Path) -> tuple[Path, dict[str, list[tuple]], Any, str]:
    """Sign in, look at records (audited), then back up while requests keep coming."""
    server, thread, base = _serve(tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.post("/api/v1/auth/login", json={"username": "ann.admin", "password": PASSWORD}).json()["token"]
            assert client.post("/api/v1/auth/login", json={"username": "tom.manager", "password": "wrong"}
                               ).status_code == 401
            headers = {"Authorization": f"Bearer {token}"}
            kpi = client.get("/api/v1/definitions", headers=headers).json()[0]["id"]
            assert client.get(f"/api/v1/kpis/{kpi}/records", params={"unit": "trust"}, headers=headers
                              ).status_code == 200  # audited
            figures = _figures(client, token)
            stop, failures = threading.Event(), []

            def keep_asking() -> None:
                with httpx.Client(base_url=base, timeout=30) as other:
                    while not stop.is_set():
                        status = other.get("/api/v1/kpis", params={"level": "team"}, headers=headers).status_code
                        if status != 200:
                            failures.append(status)

            asker = threading.Thread(target=keep_asking)
            asker.start()
            try:
                out = tmp_path / "backups" / "kpidash.tar"
                result = runner.invoke(app, ["backup", str(out)], catch_exceptions=False)
            finally:
                stop.set()
                asker.join(30)
            assert result.exit_code == 0, result.output
            assert failures == [], "the service answered throughout the backup"
    finally:
        server.should_exit = True
        thread.join(30)
    before = _app_rows(get_settings().app_db)
    backup_entry = before["audit_log"].pop()  # written after the snapshot: not in the backup itself
    assert backup_entry[2] == "backup"
    assert {"users", "tokens", "audit_log", "load_runs", "load_files", "kpi_history"} <= set(before)
    assert before["kpi_history"] and before["audit_log"] and len(before["users"]) == 2
    return out, before, figures, token


def test_a_backup_made_while_serving_restores_into_a_fresh_sqlite_instance(tmp_path: Path, instance) -> None:
    backup_file, before, figures, token = _backup_while_serving(tmp_path)
    with tarfile.open(backup_file) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "warehouse.duckdb", "appdb/users.jsonl.gz", "appdb/audit_log.jsonl.gz"} <= names
    _restore_and_compare(tmp_path, backup_file, f"sqlite:///{tmp_path / 'fresh' / 'app.db'}", before, figures, token)


@pytest.mark.postgres
def test_a_sqlite_backup_restores_into_postgresql(tmp_path: Path, instance) -> None:
    url = os.environ.get("KPIDASH_TEST_PG")
    if not url:
        pytest.skip("KPIDASH_TEST_PG names no PostgreSQL server (.ci/run starts one)")
    _drop_everything(url)
    try:
        backup_file, before, figures, token = _backup_while_serving(tmp_path)
        _restore_and_compare(tmp_path, backup_file, url, before, figures, token)
    finally:
        _drop_everything(url)


def _drop_everything(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            meta = MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


def test_backup_and_restore_refuse_clearly(tmp_path: Path, instance) -> None:
    not_a_backup = tmp_path / "x.tar"
    not_a_backup.write_bytes(b"hello")
    result = runner.invoke(app, ["restore", str(not_a_backup)])
    assert result.exit_code == 1 and "is not a kpidash backup" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(app, ["backup", str(tmp_path)])  # a folder, not a file
    assert result.exit_code == 1 and "Traceback" not in result.output
    # a backup from a newer kpidash (a migration this code does not have) is refused, naming it
    made = runner.invoke(app, ["backup", str(tmp_path / "b.tar")], catch_exceptions=False)
    assert made.exit_code == 0
    with tarfile.open(tmp_path / "b.tar") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    manifest["revision"] = "9999"
    newer = tmp_path / "newer.tar"
    with tarfile.open(tmp_path / "b.tar") as src, tarfile.open(newer, "w") as dst:
        for member in src.getmembers():
            if member.name == "manifest.json":
                data = json.dumps(manifest).encode()
                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))
            else:
                dst.addfile(member, src.extractfile(member))
    with own_settings(tmp_path / "fresh2"):
        result = runner.invoke(app, ["restore", str(newer)])
    assert result.exit_code == 1 and "migration 9999" in result.stderr


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite(src: Path, dst: Path, name: str, change: Any) -> None:
    """A copy of the backup src with member `name`'s bytes changed by change(bytes) -> bytes."""
    with tarfile.open(src) as old, tarfile.open(dst, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()
            if member.name == name:
                data = change(data)
                member.size = len(data)
            new.addfile(member, io.BytesIO(data))


def test_a_damaged_warehouse_is_never_backed_up_as_a_good_one(tmp_path: Path, instance) -> None:
    """An operations audit: a published warehouse damaged in place was backed up (exit 0, its run named from the
    kept copy) and a restore installed the damage as both the warehouse and its kept copy."""
    from etl.publish import last_good_path

    db = Path(get_settings().db)
    kept = last_good_path(db)
    kept_sha = _sha256(kept)
    db.write_bytes(os.urandom(db.stat().st_size))  # damaged in place: what the kept copy is for
    first = runner.invoke(app, ["backup", str(tmp_path / "b1.tar")])
    assert first.exit_code == 0, first.output
    assert "kept copy" in first.stderr and "was backed up instead" in first.stderr
    assert (tmp_path / "b1.tar").stat().st_mode & 0o777 == 0o600  # child-level records: its owner's only
    with tarfile.open(tmp_path / "b1.tar") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert manifest["warehouse"]["sha256"] == kept_sha
    kept.write_bytes(os.urandom(kept.stat().st_size))  # and the kept copy too: nothing good to back up
    second = runner.invoke(app, ["backup", str(tmp_path / "b2.tar")])
    assert second.exit_code == 1 and "holds the app database only" in second.stderr
    with tarfile.open(tmp_path / "b2.tar") as tar:
        assert "warehouse.duckdb" not in tar.getnames()
    assert not list(tmp_path.glob("*.partial"))
    with own_settings(tmp_path / "fresh"):
        restored = runner.invoke(app, ["restore", str(tmp_path / "b1.tar")])
        assert restored.exit_code == 0, restored.output
        assert _sha256(Path(get_settings().db)) == kept_sha
        appdb.get_engine().dispose()
        appdb.get_engine.cache_clear()


def test_a_damaged_backup_restores_nothing(tmp_path: Path, instance) -> None:
    """An operations audit: a backup whose warehouse failed its checksum wrote the whole app database first,
    and a truncated table or a short row gave messages that named nothing (or asked to report a bug)."""
    good = tmp_path / "good.tar"
    assert runner.invoke(app, ["backup", str(good)]).exit_code == 0
    cases = {
        "warehouse": ("warehouse.duckdb", lambda b: b[:4096] + bytes(65536) + b[4096 + 65536:],
                      "does not match its checksum"),
        "truncated": ("appdb/users.jsonl.gz", lambda b: b[: len(b) // 2], "table users is damaged"),
        "short row": ("appdb/users.jsonl.gz", lambda b: __import__("gzip").compress(b'[1, "x"]\n'),
                      "table users is damaged (row 1 does not have its"),
    }
    for case, (member, change, says) in cases.items():
        bad = tmp_path / f"{case}.tar"
        _rewrite(good, bad, member, change)
        fresh = tmp_path / f"fresh-{case.replace(' ', '-')}"
        with own_settings(fresh):
            result = runner.invoke(app, ["restore", str(bad)])
            assert result.exit_code == 1 and says in result.stderr and "nothing was restored" in result.stderr, case
            assert "report it" not in result.stderr
            assert not Path(get_settings().db).exists(), case
            rows = _app_rows(get_settings().app_db) if (fresh / "app.db").exists() else {}
            assert not any(rows.values()), case  # no row of the app database was kept
            appdb.get_engine.cache_clear()
    # --replace empties a used database first: a damaged backup must not get that far
    users = len(_app_rows(get_settings().app_db)["users"])
    replaced = runner.invoke(app, ["restore", str(tmp_path / "truncated.tar"), "--replace"])
    assert replaced.exit_code == 1 and "nothing was restored" in replaced.stderr
    assert len(_app_rows(get_settings().app_db)["users"]) == users == 2


def test_a_restore_while_a_scheduler_or_a_load_runs_is_refused_and_restores_nothing(tmp_path: Path, instance) -> None:
    """An operations audit: the docs said "stop the scheduler first" and nothing made sure; a refresh
    publishing half-way through a restore would leave a warehouse the restored app database does not know."""
    from etl.publish import load_lock
    from scheduler.leader import leader_lock

    made = runner.invoke(app, ["backup", str(tmp_path / "b.tar")], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    with own_settings(tmp_path / "fresh"):
        db = Path(get_settings().db).absolute()
        for lock, says in ((leader_lock, f"a scheduler is running for {db} (pid {os.getpid()}): stop it"),
                           (load_lock, f"another load into {db} is running")):
            with lock(db):
                refused = runner.invoke(app, ["restore", str(tmp_path / "b.tar")])
            assert refused.exit_code == 1 and says in refused.stderr, refused.output
            assert "nothing was restored" in refused.stderr
            assert not db.exists()
            assert "users" not in _app_rows(get_settings().app_db), "the app database was not written"
        assert runner.invoke(app, ["restore", str(tmp_path / "b.tar")]).exit_code == 0, "with both free, it restores"
        assert db.exists()
        appdb.get_engine().dispose()
        appdb.get_engine.cache_clear()
