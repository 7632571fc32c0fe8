"""Issue 16, items 15 and 17: how kpidash is installed and started, as README says."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _make_n(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(["make", "-n", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_serves_on_port_and_says_where_kpidash_is() -> None:
    default, chosen = _make_n("run"), _make_n("run", "PORT=8080")
    assert "kpidash serve --port 8000" in default
    assert "kpidash serve --port 8080" in chosen and "--port 8000" not in chosen
    assert "kpidash is installed in .venv/bin" in default
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run PORT=8080" in readme and ".venv/bin/kpidash --help" in readme


def test_make_run_points_the_scheduler_and_dashboard_at_the_chosen_port() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "run: export KPIDASH_API_URL ?= http://127.0.0.1:$(PORT)" in makefile
    done = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "-p", "-n", "run", "PORT=8080"],
                          capture_output=True, text=True, timeout=60)
    assert "PORT = 8080" in done.stdout


def test_an_spdx_licence_and_its_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # PEP 639: the expression only
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
    assert "## Licence" in (ROOT / "README.md").read_text(encoding="utf-8")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip()).groups()
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_make_install_uses_the_pinned_versions_this_environment_was_tested_with() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet -c constraints.txt -e '.[test]'" in makefile
    assert "$(STAMP): pyproject.toml constraints.txt" in makefile  # a new pin reinstalls
    pins = _pins()
    assert "kpidash" not in pins
    for name in ("holidays", "duckdb", "fastapi", "dash", "sqlalchemy", "pydantic"):
        assert name in pins, name
    installed = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version for d in metadata.distributions()}
    assert {name: installed.get(name) for name in pins} == pins  # the tests run on exactly the pinned versions
