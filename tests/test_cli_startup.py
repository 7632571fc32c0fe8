"""The command line starts fast: building `kpidash` imports no layer, each command imports what it uses
(the API and dashboard only for `serve`), and nothing expensive runs at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("fastapi", "dash", "plotly", "uvicorn", "sqlalchemy", "duckdb", "argon2", "pandas", "pyarrow", "numpy",
         "holidays", "httpx", "pydantic", "yaml")


def _imported_after(code: str) -> list[str]:
    """The heavy packages a fresh interpreter has imported after running code."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_command_line_imports_no_layer() -> None:
    assert _imported_after("import cli.main") == []


def test_help_builds_every_command_without_importing_a_layer() -> None:
    code = ("import sys\nsys.argv = ['kpidash', '--help']\nfrom cli.main import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass")
    assert _imported_after(code) == []


def test_user_commands_do_not_import_the_web_app() -> None:
    imported = _imported_after("from api import accounts, audit")
    assert "sqlalchemy" in imported and "argon2" in imported
    assert not {"fastapi", "dash", "plotly", "uvicorn"} & set(imported)


def test_no_password_hash_is_made_at_import() -> None:
    code = "import api.security as s\nassert s._dummy_hash.cache_info().currsize == 0, 'hashed at import'"
    assert "argon2" in _imported_after(code)


def test_the_command_line_names_the_roles_and_token_days_of_the_api() -> None:
    from api import accounts
    from api.models import ROLES
    from cli import api_commands

    assert api_commands.ROLES == ROLES
    assert api_commands.MAX_TOKEN_DAYS == accounts.MAX_TOKEN_DAYS


def test_the_migrations_head_is_read_without_alembic_as_alembic_reads_it() -> None:
    from core.appdb import head_revision, shipped_head

    assert shipped_head() == head_revision()


def test_an_up_to_date_app_database_is_opened_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    code = ("import os, sys\nos.environ['KPIDASH_APP_DB'] = {url!r}\nfrom core.appdb import get_engine\n"
            "get_engine()\nprint('alembic' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code.format(url=url)], cwd=ROOT, capture_output=True, text=True,
                           check=True)
    again = subprocess.run([sys.executable, "-c", code.format(url=url)], cwd=ROOT, capture_output=True, text=True,
                           check=True)
    assert first.stdout.split() == ["True"]  # a new database: Alembic makes it
    assert again.stdout.split() == ["False"]


def _load_importing(extract: Path, tmp_path: Path, modules: tuple[str, ...]) -> list[str]:
    """`kpidash load EXTRACT` in a fresh interpreter (files under tmp_path): which of `modules` it imported."""
    import os

    env = {**os.environ, "KPIDASH_DB": str(tmp_path / "warehouse.duckdb"), "KPIDASH_ARCHIVE_DIR": str(tmp_path / "a"),
           "KPIDASH_APP_DB": f"sqlite:///{tmp_path / 'app.db'}"}
    code = ("import sys\nsys.argv = ['kpidash', 'load', sys.argv[1]]\nfrom cli.main import app\n"
            "try:\n    app()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
            f"import json\nprint(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code, str(extract)], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_load_imports_neither_the_web_layers_nor_the_annex_a_reader(sample_extract: Path, tmp_path: Path) -> None:
    """`kpidash load` of an extract folder: the loader, DuckDB, the cube; not FastAPI, Dash or openpyxl."""
    imported = _load_importing(sample_extract, tmp_path, ("fastapi", "dash", "plotly", "uvicorn", "openpyxl", "duckdb"))
    assert imported == ["duckdb"]  # it loaded, and nothing more
    assert (tmp_path / "warehouse.duckdb").exists()


def test_reading_the_settings_does_not_import_the_app_database() -> None:
    """The settings check KPIDASH_TRUSTED_PROXIES with the standard library (core.networks), so a command
    that reads them but not the app database (`kpidash kpis`) does not pay for SQLAlchemy."""
    code = "from core.settings import get_settings\nget_settings()"
    assert "sqlalchemy" not in _imported_after(code)
    bad = {**__import__("os").environ, "KPIDASH_TRUSTED_PROXIES": "10.0.0.5, not-a-network"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=bad, capture_output=True, text=True)
    assert done.returncode != 0 and "'not-a-network' is not an IP address or network" in done.stderr


def test_a_second_load_imports_neither_alembic_nor_the_ssd_reader_nor_the_api(sample_extract: Path,
                                                                               tmp_path: Path) -> None:
    """Once the app database is current, `kpidash load` of a contract folder imports only what it uses: not
    SQLAlchemy either, for a SQLite app database (its load log is written with sqlite3, etl.runlog_sqlite)."""
    modules = ("alembic", "sqlalchemy", "etl.ssd", "etl.annex_a", "api", "dashboard", "kpis.cube_builder")
    first = _load_importing(sample_extract, tmp_path, modules)  # it makes the app database (with Alembic)
    again = _load_importing(sample_extract, tmp_path, modules)
    assert {"alembic", "sqlalchemy"} <= set(first)  # the probe sees a module a load does import (the migrations)
    assert again == ["kpis.cube_builder"]  # the cube is built, and nothing else of the list


def _console_script(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`kpidash ARGS` through the console script's entry (cli.main:main), in a fresh interpreter whose
    __main__ holds an object that says when it is torn down, and with an exit handler of its own."""
    import os

    env = {**os.environ, "KPIDASH_DB": str(tmp_path / "warehouse.duckdb"), "KPIDASH_ARCHIVE_DIR": str(tmp_path / "a"),
           "KPIDASH_APP_DB": f"sqlite:///{tmp_path / 'app.db'}"}
    code = ("import atexit, sys\n"
            "class Witness:\n    def __del__(self):\n        print('torn down', file=sys.stderr, flush=True)\n"
            "witness = Witness()\n"
            "atexit.register(lambda: print('exit handler ran', file=sys.stderr))\n"
            f"sys.argv = ['kpidash', *{args!r}]\nfrom cli.main import main\nmain()")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_load_exits_without_tearing_modules_down_after_its_exit_handlers_and_all_its_output(
        sample_extract: Path, tmp_path: Path) -> None:
    done = _console_script(["load", str(sample_extract)], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exit handler ran" in done.stderr and "torn down" not in done.stderr
    lines = done.stdout.splitlines()  # all of it, to the last line (the sample trust has warnings)
    assert ": published, extract of" in lines[0] and lines[-1].startswith("to list the 0 rejected rows and")
    failed = _console_script(["load", str(tmp_path / "nowhere")], tmp_path)
    assert failed.returncode == 1
    assert "error: " in failed.stderr and "does not exist" in failed.stderr
    assert "exit handler ran" in failed.stderr and "torn down" not in failed.stderr


def test_other_commands_exit_as_python_does(tmp_path: Path) -> None:
    done = _console_script(["--help"], tmp_path)
    assert done.returncode == 0 and "load" in done.stdout
    assert "exit handler ran" in done.stderr and "torn down" in done.stderr
