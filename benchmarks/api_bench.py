"""API benchmark: GET /api/v1/kpis?level=team&fields=all (as the dashboard asks) under 32 concurrent
clients, cache on and off, with one uvicorn worker and with two (`kpidash serve --workers 2`).

The server is uvicorn in its own process; the load comes from another process (32
keep-alive HTTP/1.1 clients on asyncio) over loopback, so server and client share the machine's two
cores as they would in CI. Each mode runs ROUNDS times and the medians are reported.

    .venv/bin/python -m benchmarks api_bench [--requests 6000] [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench" / "api"
PATH = "/api/v1/kpis?level=team&fields=all"
CONCURRENCY = 32
WARMUP = 64


def _env(cache: bool | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "KPIDASH_DB": str(WORK / "warehouse.duckdb"),
        "KPIDASH_ARCHIVE_DIR": str(WORK / "archive"),
        "KPIDASH_APP_DB": f"sqlite:///{WORK / 'app.db'}",
    }
    if cache is not None:
        env["KPIDASH_API_CACHE"] = "true" if cache else "false"
    return env


def prepare() -> str:
    """The sample trust (seed 1, scale 1) loaded once under data/bench/api, and a fresh API token."""
    from api import accounts
    from core.appdb import get_engine
    from core.settings import get_settings

    saved = dict(os.environ)
    os.environ.update(_env())
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        if not (WORK / "warehouse.duckdb").exists():
            from etl import load_extract
            from sample_data import generate_sample

            generate_sample(WORK / "extract", seed=1, scale=1.0)
            result = load_extract(WORK / "extract")
            if result.status != "published":
                raise SystemExit(f"could not load the sample trust: {result.message}")
        engine = get_engine()
        if "bench" not in {u.username for u in accounts.list_users(engine)}:
            accounts.add_user(engine, "bench", "analyst")
        token = accounts.create_api_token(engine, "bench", days=1, name="benchmark").token
        engine.dispose()
        return token
    finally:  # other benchmarks in the same process must not inherit this one's settings
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        get_engine.cache_clear()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(cache: bool, workers: int = 1) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_server_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=_env(cache),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API server did not become ready within 60 s")


async def _keep_alive_client(host: str, port: int, request: bytes, until: Callable[[], bool],
                             latencies: list[float]) -> int:
    """One client on one keep-alive connection: send, read the whole answer, repeat. Returns errors."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while until():
            t0 = time.perf_counter()
            writer.write(request)
            status = (await reader.readline()).split(b" ", 2)[1]
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            errors += status != b"200"
    finally:
        writer.close()
    return errors


async def _load(base: str, token: str, requests: int, seconds: float) -> dict[str, float]:
    """CONCURRENCY clients, each sending its next request when the last one is answered.

    Plain HTTP/1.1 over asyncio streams rather than httpx: on this 2-core machine httpx spent about
    twice the server's CPU per request, so it measured itself rather than the server.
    """
    host, port = base.removeprefix("http://").split(":")
    request = (f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
    warm: list[float] = []
    budget = [WARMUP]

    def warming() -> bool:
        budget[0] -= 1
        return budget[0] >= 0

    await _keep_alive_client(host, int(port), request, warming, warm)
    latencies: list[float] = []
    remaining = [requests]
    stop_at = time.perf_counter() + seconds

    def more() -> bool:
        remaining[0] -= 1
        return remaining[0] >= 0 and time.perf_counter() < stop_at

    started = time.perf_counter()
    errors = await asyncio.gather(
        *(_keep_alive_client(host, int(port), request, more, latencies) for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": sum(errors),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rps": len(latencies) / elapsed,
    }


def _client_process(base: str, token: str, requests: int, seconds: float) -> dict[str, float]:
    """Run the load generator in its own process and read its JSON result."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.api_bench", "--client", base, "--token", token, "--requests",
         str(requests), "--seconds", str(seconds)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table of medians (cache on, cache off)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000, help="requests per round (at most)")
    parser.add_argument("--seconds", type=float, default=20, help="time per round (at most)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode; medians are reported")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: be the load generator
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        print(json.dumps(asyncio.run(_load(args.client, args.token, args.requests, args.seconds))))
        return

    token = prepare()
    print(f"GET {PATH}, {CONCURRENCY} concurrent clients, {args.rounds} rounds per mode")
    print(f"{'cache':6} {'workers':>7} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    modes = ((True, 1), (True, 2), (False, 1), (False, 2))
    results: dict[tuple[bool, int], list[dict[str, float]]] = {mode: [] for mode in modes}
    for _ in range(args.rounds):  # the modes alternate, so a busy spell of the machine hits them all
        for cache, workers in modes:
            proc, base = _start_server(cache, workers)
            try:
                if workers > 1:
                    time.sleep(5)  # every worker up, not only the first to answer /ready
                results[(cache, workers)].append(_client_process(base, token, args.requests, args.seconds))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    for (cache, workers), rounds in results.items():
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        print(f"{'on' if cache else 'off':6} {workers:>7} {med['requests']:>9.0f} {med['errors']:>7.0f} "
              f"{med['p50_ms']:>8.1f} {med['p99_ms']:>8.1f} {med['rps']:>8.0f}")


if __name__ == "__main__":
    main()
