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


def test_the_image_installs_the_pinned_versions_too() -> None:
    """The Dockerfile and the container test's wheelhouse use constraints.txt as make install does, so an
    image never carries other versions than the tests ran on (the container test checks the built image)."""
    from tests.container import podman

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    stage = dockerfile.split("FROM ")[1]  # the dependencies stage, where the packages are installed
    assert stage.startswith("${BASE_IMAGE} AS dependencies")
    copied = [line.split()[1:-1] for line in stage.splitlines() if line.startswith("COPY ")]
    assert any("constraints.txt" in sources for sources in copied), copied
    installs = [line for line in dockerfile.splitlines() if "pip install" in line and "--no-deps" not in line]
    assert installs and all("-c constraints.txt" in line for line in installs), installs
    assert "constraints.txt" in podman.dockerfile_copy_sources()  # build_context copies it
    assert "!constraints.txt" in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "pip wheel -c constraints.txt -w wheelhouse '.[postgres]'" in (ROOT / "docs/operations.md").read_text(
        encoding="utf-8")  # the offline build's wheelhouse, as the docs tell an authority to make it


def test_the_container_tests_wheelhouse_is_pinned_and_remade_when_a_pin_moves(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.container import podman

    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(podman, "ROOT", tmp_path)
    before = podman.wheelhouse_inputs()
    pins = (tmp_path / "constraints.txt").read_text(encoding="utf-8")
    (tmp_path / "constraints.txt").write_text(re.sub(r"(?m)^holidays==\S+$", "holidays==0.50", pins), encoding="utf-8")
    assert podman.wheelhouse_inputs() != before, "a moved pin makes a new wheelhouse"
    source = Path(podman.__file__).read_text(encoding="utf-8")
    assert '"--constraint", str(ROOT / "constraints.txt")' in source  # pip wheel is given the pins
    from packaging.requirements import Requirement

    dependencies, postgres = podman.wheelhouse_inputs()[:2]
    named = {re.sub(r"[-_.]+", "-", Requirement(r).name).lower() for r in dependencies + postgres}
    assert "psycopg" in named and "psycopg-binary" in _pins()  # the postgres extra, psycopg[binary]
    assert named <= set(_pins()), named - set(_pins())  # every package the image names is pinned
