"""The container files, checked quickly inside `make test` (no engine needed).

`make container-test` (tests/container) builds and runs the image and the compose file for real with
podman. These faster checks stay in the ordinary suite: the wheel the image's build stage makes is
built from this checkout, installed apart from the source tree, and started with the image's command;
the image's own HEALTHCHECK command is run against it; and the files are checked as text: every
KPIDASH_ variable they set is a real setting, every package is copied into the build, nothing else
reaches the build context, and the runtime runs as a non-root user.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from core.settings import Settings
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETTINGS = {f"KPIDASH_{name.upper()}" for name in Settings.model_fields}


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _runtime_stage() -> list[tuple[str, str]]:
    stages: list[list[tuple[str, str]]] = []
    for word, rest in _instructions():
        if word == "FROM":
            stages.append([])
        if stages:  # (an ARG before the first FROM belongs to no stage)
            stages[-1].append((word, rest))
    return stages[-1]


def _env_keys(args: str) -> set[str]:
    return set(re.findall(r"(KPIDASH_[A-Z_]+)=", args))


def test_the_image_is_multi_stage_and_runs_as_a_non_root_user_with_data_on_a_volume():
    froms = [rest for word, rest in _instructions() if word == "FROM"]
    assert len(froms) >= 2, "a build stage and a runtime stage"
    runtime = _runtime_stage()
    users = [rest for word, rest in runtime if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "the runtime stage ends as a non-root user"
    assert any(word == "VOLUME" and "/data" in rest for word, rest in runtime)
    env = " ".join(rest for word, rest in runtime if word == "ENV")
    assert "KPIDASH_DB=/data/" in env and "KPIDASH_ARCHIVE_DIR=/data/" in env, "data lives on the volume"
    assert any(word == "HEALTHCHECK" for word, _ in runtime)


def test_every_package_is_copied_into_the_build_stage_and_nothing_else_reaches_the_build():
    # a new top-level package that is not copied would be missing from the image, silently
    packages = [p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = {rest.split()[0] for word, rest in _instructions() if word == "COPY" and "--from" not in rest}
    assert sorted(set(packages) - copied) == []
    # .dockerignore lets in only what is copied (never data, .env or a virtual environment)
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == copied | {"Dockerfile", "README.md"}


def test_the_base_image_and_the_wheel_source_are_build_arguments():
    args = {rest.split("=")[0] for word, rest in _instructions() if word == "ARG"}
    assert {"BASE_IMAGE", "PIP_NO_INDEX", "PIP_INDEX_URL"} <= args
    froms = [rest.split()[0] for word, rest in _instructions() if word == "FROM"]
    assert froms.count("${BASE_IMAGE}") == 2, "the dependency and runtime stages both start from BASE_IMAGE"
    assert (ROOT / "wheelhouse").is_dir() and "wheelhouse" in {
        rest.split()[0] for word, rest in _instructions() if word == "COPY"}


def test_every_kpidash_variable_the_container_files_set_is_a_real_setting():
    in_dockerfile = set().union(*(_env_keys(rest) for word, rest in _instructions() if word == "ENV"))
    in_compose = set()
    for service in COMPOSE["services"].values():
        in_compose |= {k for k in (service.get("environment") or {}) if k.startswith("KPIDASH_")}
    assert in_dockerfile and in_compose
    assert sorted((in_dockerfile | in_compose) - SETTINGS) == []


def test_compose_has_the_service_one_scheduler_and_postgresql_for_the_app_database():
    services = COMPOSE["services"]
    assert {"api", "scheduler", "appdb"} <= set(services)
    assert services["api"]["command"][:2] == ["kpidash", "serve"]
    assert services["scheduler"]["command"] == ["kpidash", "scheduler"]
    assert "replicas" not in str(services["scheduler"].get("deploy", "")), "one scheduler per deployment"
    # the images can be named in .env (an authority's registry, an offline build); the defaults are the usual ones
    assert services["appdb"]["image"] == "${KPIDASH_PG_IMAGE:-postgres:16-alpine}"
    assert services["api"]["image"] == services["scheduler"]["image"] == "${KPIDASH_IMAGE:-kpidash:latest}"
    app_db = services["api"]["environment"]["KPIDASH_APP_DB"]
    assert app_db.startswith("postgresql+psycopg://")
    # the image must carry the driver that URL names: the dependency stage installs the postgres extra
    assert any("psycopg" in dep for dep in PYPROJECT["project"]["optional-dependencies"]["postgres"])
    assert "p['optional-dependencies']['postgres']" in DOCKERFILE
    for name in ("api", "scheduler"):
        assert services[name]["depends_on"]["appdb"]["condition"] == "service_healthy"
    assert "change-me" not in app_db.split("${")[0], "no password written into the file itself"
    # nor a fallback one: without KPIDASH_PG_PASSWORD in .env the deployment refuses to start
    for value in (app_db, services["appdb"]["environment"]["POSTGRES_PASSWORD"]):
        assert "${KPIDASH_PG_PASSWORD:?" in value and "KPIDASH_PG_PASSWORD:-" not in value


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build stage's `pip wheel .`, installed (without its dependencies, which the venv has) into a
    folder of its own: the code the image runs, not this source tree."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "wheels"), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    if build.returncode != 0 and "Could not find a version that satisfies" in build.stderr:
        pytest.skip("the package index is unreachable, so the build backend cannot be fetched")
    assert build.returncode == 0, build.stderr
    [wheel] = (work / "wheels").glob("kpidash-*.whl")
    target = work / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return target


def _wheel_env(site: Path, data: Path) -> dict[str, str]:
    """The image's own ENV, with its /data volume moved to `data`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIDASH_")}
    env["PYTHONPATH"] = str(site)
    for word, rest in _runtime_stage():
        if word == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", rest):
                if key != "PATH":  # the image's venv; here the wheel's folder stands in for it
                    env[key] = value.replace("/data", str(data))
    return env


def test_the_wheel_starts_with_the_images_command_and_passes_its_healthcheck(installed_wheel: Path, tmp_path: Path):
    env = _wheel_env(installed_wheel, tmp_path)
    where = subprocess.run([sys.executable, "-c", "import api, core.migrations, dashboard; print(api.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(installed_wheel)), "the installed wheel, not the checkout, is imported"

    port = free_port()
    argv = json.loads([rest for word, rest in _runtime_stage() if word == "CMD"][-1])
    assert argv[:2] == ["kpidash", "serve"]
    argv[0] = str(installed_wheel / "bin" / "kpidash")  # the console script the wheel installs
    argv[argv.index("--port") + 1] = str(port)
    argv[argv.index("--host") + 1] = "127.0.0.1"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        health = next(rest for word, rest in _runtime_stage() if word == "HEALTHCHECK")
        check = health.split(" CMD ", 1)[1].strip().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            result = subprocess.run(["/bin/sh", "-c", check.replace("python ", f"{sys.executable} ", 1)],
                                    cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
            if result.returncode == 0 or time.monotonic() > deadline or server.poll() is not None:
                break
            time.sleep(0.5)
        assert server.poll() is None, log.read_text()
        assert result.returncode == 0, result.stderr
        # a deployment makes no demo users: it says how to make the first administrator
        assert "kpidash users add NAME --role admin" in log.read_text() and "demo_" not in log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)
