"""docker-compose.yml brought up for real (podman-compose): the service, the one scheduler loading the
drop folder, and PostgreSQL as the app database; figures served signed in; nothing lost when every
container is removed and made again."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.container.conftest import free_port, sign_in, team_figures
from tests.container.podman import ROOT, Podman

pytestmark = pytest.mark.container

PROJECT = "kpidash-ct"
PASSWORD = "Compose-test-pass-1!"
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


class Compose:
    """podman-compose on a copy of the project's compose file, with podman's configuration."""

    def __init__(self, podman: Podman, folder: Path) -> None:
        self.podman, self.folder = podman, folder

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "podman_compose", "-p", PROJECT, "-f", str(self.folder / "docker-compose.yml"),
             *args],
            cwd=self.folder, env=self.podman.env, capture_output=True, text=True, timeout=timeout,
        )
        assert result.returncode == 0, f"podman-compose {' '.join(args)}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        return result

    def container(self, service: str) -> str:
        names = self.podman.run("ps", "--format", "{{.Names}}", "--filter", f"label=io.podman.compose.project={PROJECT}",
                                "--filter", f"label=io.podman.compose.service={service}").stdout.split()
        assert len(names) == 1, f"one running {service} container, found {names}"
        return names[0]


@pytest.fixture(scope="module")
def compose(podman: Podman, kpidash_image: str, postgres_image: str, sample_extract: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("compose")
    shutil.copy2(ROOT / "docker-compose.yml", folder / "docker-compose.yml")
    shutil.copytree(sample_extract, folder / "drop")  # what the case-management export writes
    port = free_port()
    # the .env file an authority writes beside the compose file (secrets never in the file itself)
    (folder / ".env").write_text(
        f"KPIDASH_PG_PASSWORD={secrets.token_urlsafe(18)}\nKPIDASH_IMAGE={kpidash_image}\n"
        f"KPIDASH_PG_IMAGE={postgres_image}\nKPIDASH_PUBLISH=127.0.0.1:{port}\n"
        "KPIDASH_REFRESH_MINUTES=0.1\n", encoding="utf-8")
    run = Compose(podman, folder)
    # netavark turns on IPv4 forwarding for its bridge network; put the host back as it was
    forwarding = IP_FORWARD.read_text() if IP_FORWARD.exists() else None
    try:
        # podman 4.3 cannot wait for `condition: service_healthy` (podman-compose says so and skips the
        # wait), so the test does what the condition asks: the database first, until its check passes.
        with podman.timings.step("compose: PostgreSQL up and healthy"):
            run("up", "-d", "--no-build", "appdb")
            podman.wait_healthy(run.container("appdb"))
        with podman.timings.step("compose: service up and healthy"):
            run("up", "-d", "--no-build")
            podman.wait_healthy(run.container("api"))
        yield {"run": run, "base": f"http://127.0.0.1:{port}"}
    finally:
        subprocess.run([sys.executable, "-m", "podman_compose", "-p", PROJECT, "-f", str(folder / "docker-compose.yml"),
                        "down", "-v", "-t", "10"], cwd=folder, env=podman.env, capture_output=True, timeout=300)
        if forwarding is not None and IP_FORWARD.read_text() != forwarding:
            IP_FORWARD.write_text(forwarding)


def _wait_for_first_load(base: str, token: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{base}/api/v1/status", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        if (status.get("last_good_load") and status.get("extract_date")) or time.monotonic() > deadline:
            return status
        time.sleep(2)


def test_compose_serves_the_drop_folder_loaded_by_its_one_scheduler_with_postgresql_as_the_app_database(
        podman: Podman, compose: dict[str, Any], host_figures: dict[str, Any]):
    run, base = compose["run"], compose["base"]
    api, scheduler, appdb = run.container("api"), run.container("scheduler"), run.container("appdb")
    for name in (api, scheduler):
        assert podman.run("exec", name, "id", "-u").stdout.strip() == "10001"
    podman.run("exec", "-i", api, "kpidash", "users", "add", "ct.admin", "--role", "admin", "--password-stdin",
               input=PASSWORD + "\n")
    token = sign_in(base, "ct.admin", PASSWORD)

    with podman.timings.step("compose: scheduler's first load of the drop folder"):
        status = _wait_for_first_load(base, token)
    assert status.get("last_good_load"), status
    assert team_figures(base, token, host_figures["from"], host_figures["to"]) == host_figures["rows"]

    # the app database is PostgreSQL: the user, the session and the load log are there, no SQLite file
    users = podman.run("exec", appdb, "psql", "-U", "kpidash", "-d", "kpidash", "-tAc",
                       "SELECT username FROM users").stdout.split()
    runs = podman.run("exec", appdb, "psql", "-U", "kpidash", "-d", "kpidash", "-tAc",
                      "SELECT status FROM load_runs").stdout.split()
    assert users == ["ct.admin"] and "published" in runs
    assert "app.db" not in podman.run("exec", api, "ls", "/data").stdout.split()
    # one scheduler per deployment: a second one, in another container on the same volume, refuses
    second = podman.run("exec", api, "kpidash", "scheduler", check=False, timeout=60)
    assert second.returncode == 1 and "already running" in second.stderr, second.stderr

    # every container removed and made again from the volumes: nothing lost
    with podman.timings.step("compose: down and up again"):
        run("down", "-t", "30")
        run("up", "-d", "--no-build", "appdb")
        podman.wait_healthy(run.container("appdb"))
        run("up", "-d", "--no-build")
        podman.wait_healthy(run.container("api"))
    assert team_figures(base, token, host_figures["from"], host_figures["to"]) == host_figures["rows"]
    assert httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                     timeout=30).json()["username"] == "ct.admin"
