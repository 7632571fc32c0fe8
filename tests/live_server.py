"""A service under test in its own process: a free loopback port to serve on, and the wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, proc: subprocess.Popen, seconds: float, interval: float = 0.2) -> bool:
    """True once GET /api/v1/health answers 200; False if the process ends or `seconds` pass first
    (the caller stops it and says why)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(interval)
