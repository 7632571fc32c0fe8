"""A service under test: its own copy of a warehouse's data, a free loopback port to serve on, and the wait
until its process answers."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx


def copy_data(warehouse: Path, data: Path, app_db: bool = True) -> None:
    """Copy a published warehouse into the new folder `data`, with the app database (unless app_db=False)
    and the archive beside it where they exist. The app database runs in WAL mode, so it is copied through
    SQLite's backup: copying the file alone can miss the WAL."""
    data.mkdir(parents=True)
    shutil.copy(warehouse, data / "warehouse.duckdb")
    if app_db and (warehouse.parent / "app.db").exists():
        with sqlite3.connect(warehouse.parent / "app.db") as src, sqlite3.connect(data / "app.db") as dst:
            src.backup(dst)
        src.close()
        dst.close()
    if (warehouse.parent / "archive").exists():
        shutil.copytree(warehouse.parent / "archive", data / "archive")


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
