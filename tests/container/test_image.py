"""The image, built and run by a container engine: healthy, non-root, data on its volume, figures
served to a signed-in user, nothing lost across a restart."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.container.conftest import free_port, sign_in, team_figures
from tests.container.podman import LABEL, ROOT, Podman

pytestmark = pytest.mark.container

SAMPLE_END = "2025-11-23"  # tests/conftest.py SAMPLE_END_DATE: the host's figures are of the same trust
PASSWORD = "Container-test-pass-1!"


@pytest.fixture(scope="module")
def container(podman: Podman, kpidash_image: str) -> Iterator[dict[str, Any]]:
    """The image started as its users start it: its own CMD, a named volume on /data, one port."""
    name, volume, port = "kpidash-ct-image", "kpidash-ct-data", free_port()
    podman.run("volume", "create", "--label", LABEL, volume)
    podman.run("run", "-d", "--name", name, "--label", LABEL, "--network", "slirp4netns",
               "-p", f"127.0.0.1:{port}:8000", "-v", f"{volume}:/data", kpidash_image)
    try:
        seconds = podman.wait_healthy(name)
        podman.timings.steps["image: start to healthy"] = seconds
        yield {"name": name, "volume": volume, "base": f"http://127.0.0.1:{port}"}
    finally:
        podman.run("rm", "-f", "-t", "10", name, check=False)
        podman.run("volume", "rm", "-f", volume, check=False)


def test_the_image_runs_its_service_as_a_non_root_user_with_its_data_on_the_volume(podman: Podman,
                                                                                    container: dict[str, Any]):
    name = container["name"]
    assert podman.health(name) == "healthy"
    assert podman.run("exec", name, "id", "-u").stdout.strip() == "10001"
    # every process of the container (the service is PID 1), not only what exec runs
    users = podman.run("top", name, "user", "args").stdout.splitlines()[1:]
    assert users and all(line.split()[0] == "kpidash" for line in users), users
    owner = podman.run("exec", name, "stat", "-c", "%U %a", "/data").stdout.split()
    assert owner[0] == "kpidash", "the new volume takes the image's ownership of /data"
    mounts = podman.run("inspect", "--format", "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}", name).stdout
    assert f"{container['volume']}:/data" in mounts
    # a deployment makes no demo users; it says how to make the first administrator
    logs = podman.run("logs", name).stdout
    assert "kpidash users add NAME --role admin" in logs and "demo_" not in logs


def test_the_sample_loaded_into_the_volume_is_served_signed_in_and_survives_a_restart(
        podman: Podman, container: dict[str, Any], host_figures: dict[str, Any]):
    name, base = container["name"], container["base"]
    assert httpx.get(f"{base}/api/v1/kpis", timeout=30).status_code == 401, "nothing without signing in"

    with podman.timings.step("image: make and load the sample trust"):
        podman.run("exec", name, "kpidash", "sample", "--out", "/data/extract", "--end-date", SAMPLE_END)
        loaded = podman.run("exec", name, "kpidash", "load", "/data/extract")
    assert "published" in loaded.stdout, loaded.stdout
    podman.run("exec", "-i", name, "kpidash", "users", "add", "ct.admin", "--role", "admin", "--password-stdin",
               input=PASSWORD + "\n")

    token = sign_in(base, "ct.admin", PASSWORD)
    served = team_figures(base, token, host_figures["from"], host_figures["to"])
    assert served == host_figures["rows"], "the image serves the figures this checkout computes"
    files = set(podman.run("exec", name, "ls", "/data").stdout.split())
    assert {"warehouse.duckdb", "warehouse.duckdb.last-good", "app.db", "archive"} <= files

    with podman.timings.step("image: restart to healthy"):
        podman.run("restart", "-t", "30", name, timeout=120)
        podman.wait_healthy(name)
    # the same session token still works (the app database is on the volume), and so does signing in
    assert team_figures(base, token, host_figures["from"], host_figures["to"]) == host_figures["rows"]
    assert team_figures(base, sign_in(base, "ct.admin", PASSWORD), host_figures["from"],
                        host_figures["to"]) == host_figures["rows"]
    runs = podman.run("exec", name, "kpidash", "runs").stdout
    assert "published" in runs


def test_the_image_carries_the_versions_the_tests_ran_on(podman: Podman, kpidash_image: str):
    """Every package in the image's environment at constraints.txt's version (make install's), none unpinned."""
    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").split()
                if "==" in line)
    pins = {norm(name): version for name, version in pins.items()}
    listed = podman.run("run", "--rm", "--network", "none", kpidash_image, "python", "-c",
                        "import importlib.metadata as m, json; "
                        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))").stdout
    installed = {norm(name): version for name, version in json.loads(listed).items()}
    own = {"kpidash", "pip", "setuptools", "wheel"}
    assert {name: installed[name] for name in installed.keys() - own} == \
        {name: pins.get(name) for name in installed.keys() - own}
    assert {"holidays", "duckdb", "psycopg", "psycopg-binary"} <= installed.keys()
