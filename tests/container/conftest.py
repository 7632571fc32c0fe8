"""The container tests' shared parts: podman set up in the project's cache folder, the images built
offline, the host's own figures to compare with, and a signed-in HTTP client.

Run with `make container-test` (`pytest -m container tests/container`); `make test` leaves them out.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.container.podman import Podman, Unavailable

_timings: dict[str, float] = {}
BLOB_INFO_CACHE = Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How long each step took in this run (a cold run makes the cached images, a warm one reuses them)."""
    if _timings:
        terminalreporter.write_sep("-", "container test timings")
        for name, seconds in _timings.items():
            terminalreporter.write_line(f"{name:<48} {seconds:7.1f} s")


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    engine = Podman()
    try:
        engine.check_machine()
    except Unavailable as exc:
        pytest.skip(str(exc))
    engine.configure()
    # podman (containers/image 5.23) keeps a cache of layer digests in /var/lib/containers/cache when run
    # as root, whatever the storage configuration says: if this run made the folder, it goes again after
    made_outside = not BLOB_INFO_CACHE.parent.exists()
    with engine.lock():
        engine.run("info")
        engine.remove_leftovers()
        try:
            yield engine
        finally:
            engine.remove_leftovers()
            engine.prune()
            _timings.update(engine.timings.steps)
            if made_outside and {p.name for p in BLOB_INFO_CACHE.parent.rglob("*")} <= {"cache", BLOB_INFO_CACHE.name}:
                shutil.rmtree(BLOB_INFO_CACHE.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def kpidash_image(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The project's Dockerfile built with no network: the debootstrapped base, the cached wheelhouse."""
    try:
        base = podman.base_image()
        wheelhouse = podman.wheelhouse()
    except Unavailable as exc:
        pytest.skip(str(exc))
    context = podman.build_context(wheelhouse, tmp_path_factory.mktemp("image") / "context")
    tag = "localhost/kpidash:container-test"
    podman.build_kpidash(tag, context, base)
    return tag


@pytest.fixture(scope="session")
def postgres_image(podman: Podman) -> str:
    try:
        return podman.postgres_image()
    except Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def host_figures(sample_warehouse: Path) -> dict[str, Any]:
    """The sample trust's team-level figures as this checkout computes them (what the image must serve)."""
    from api.response_cache import json_bytes
    from kpis import compute_kpis, open_warehouse

    with open_warehouse(sample_warehouse) as wh:
        date_to = wh.extract_date
        date_from = date_to.replace(day=1)
        rows = compute_kpis(wh, date_from, date_to, "team")
        return {"from": date_from, "to": date_to, "run_extract": wh.extract_date,
                "rows": json.loads(json_bytes(rows))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign_in(base: str, username: str, password: str, timeout: float = 60) -> str:
    """A session token from the service's sign-in (retried while the service is still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.post(f"{base}/api/v1/auth/login", json={"username": username, "password": password},
                                timeout=30)
            assert answer.status_code == 200, answer.text
            return answer.json()["token"]
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def team_figures(base: str, token: str, date_from: dt.date, date_to: dt.date) -> list[dict[str, Any]]:
    answer = httpx.get(f"{base}/api/v1/kpis", params={"level": "team", "from": date_from.isoformat(),
                                                     "to": date_to.isoformat()},
                       headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()
