"""API benchmark: GET /api/v1/kpis?level=team&fields=all (as the dashboard asks) under 32 concurrent
clients: the same request again (answered from the response cache), and a new period in every request
(never cached: a board member picking a quarter), read from the daily cube and, side by side, counted
from the facts (KPIDASH_CUBE=false, the engine before the cube); each with one uvicorn worker and with
two (`kpidash serve --workers 2`).

The server is uvicorn in its own process; the load comes from another process (32
keep-alive HTTP/1.1 clients on asyncio) over loopback, so server and client share the machine's two
cores as they would in CI. Each mode runs ROUNDS times and the medians are reported.

    .venv/bin/python -m benchmarks api_bench [--requests 6000] [--seconds 20] [--rounds 3] [--old REV]
                                             [--modes cube]

--old REV runs each mode's server from that revision's code too (its files written once with `git
archive` under data/bench/old-REV, the server started there), alternating with this code round by
round on the same warehouse and app database; --modes keeps the modes whose label holds any of the
words given (e.g. `cube` for the new-period modes read from the daily cube). The load generator is
the same process and code for both.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
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

from benchmarks.kpi_bench import SAMPLE_END, load_settings, with_cube

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench" / "api"
PATH = "/api/v1/kpis?level=team&fields=all"
CONCURRENCY = 32
WARMUP_SECONDS = 3.0
SAMPLE_TO = SAMPLE_END  # the last day a new period may end on (28,000 periods back from it)


def _env(cache: bool | None = None, cube: bool | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "KPIDASH_DB": str(WORK / "warehouse.duckdb"),
        "KPIDASH_ARCHIVE_DIR": str(WORK / "archive"),
        "KPIDASH_APP_DB": f"sqlite:///{WORK / 'app.db'}",
    }
    if cache is not None:
        env["KPIDASH_API_CACHE"] = "true" if cache else "false"
    if cube is not None:
        env["KPIDASH_CUBE"] = "true" if cube else "false"
    return env


def prepare_user(username: str = "bench") -> tuple[str, str]:
    """The sample trust (seed 1, scale 1) loaded once under data/bench/api, and an analyst of that
    name with a new random password: (username, password)."""
    from api import accounts
    from core.appdb import get_engine

    # other benchmarks in the same process must not inherit this one's settings
    with load_settings(WORK / "warehouse.duckdb", WORK / "archive", WORK / "app.db"):
        if not (WORK / "warehouse.duckdb").exists():
            from etl import load_extract
            from sample_data import generate_sample

            generate_sample(WORK / "extract", seed=1, scale=1.0, end_date=SAMPLE_END)
            result = load_extract(WORK / "extract")
            if result.status != "published":
                raise SystemExit(f"could not load the sample trust: {result.message}")
        with_cube(WORK / "warehouse.duckdb")  # a warehouse loaded before the cube existed gets one
        engine = get_engine()
        if username in {u.username for u in accounts.list_users(engine)}:
            password = accounts.set_password(engine, username, None)
        else:
            _, password = accounts.add_user(engine, username, "analyst")
        engine.dispose()
        return username, password


def prepare() -> str:
    """A fresh API token of the benchmark's user."""
    from api import accounts
    from core.appdb import get_engine

    username, _ = prepare_user("bench")
    with load_settings(WORK / "warehouse.duckdb", WORK / "archive", WORK / "app.db"):
        engine = get_engine()
        token = accounts.create_api_token(engine, username, days=1, name="benchmark").token
        engine.dispose()
        return token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(base: str, proc: subprocess.Popen, seconds: float = 60) -> bool:
    """True once the server at `base` answers GET /api/v1/ready; False if it ends or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


def start_server(cache: bool = True, cube: bool = True, workers: int = 1, code: Path | None = None
                 ) -> tuple[subprocess.Popen, str]:
    """uvicorn on the benchmark's warehouse, in its own process: (process, base URL). code: another
    revision's files to run the server from (its folder is the server's working directory, so first
    on its path). As `kpidash serve` runs it: no access log, no proxy headers (the app reads them itself,
    api/middleware.py); uvloop and httptools, as uvicorn picks when they are installed."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (WORK / "server.log").open("ab")  # the server's warnings (slow requests) kept out of the tables
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_server_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--no-access-log", "--no-proxy-headers", "--log-level", "warning"],
        cwd=code or ROOT, env={**_env(cache, cube), "KPIDASH_API_URL": base}, stderr=log,
    )
    log.close()
    if wait_until_ready(base, proc):
        return proc, base
    proc.kill()
    raise SystemExit("the API server did not become ready within 60 s")


_start_server = start_server


def _path(new_period: bool, n: int) -> str:
    """The request: the dashboard's, or with the n-th of 28,000 different periods (never one twice)."""
    if not new_period:
        return PATH
    end = SAMPLE_TO - dt.timedelta(days=n % 1000)
    start = end - dt.timedelta(days=n // 1000 % 28)
    return f"{PATH}&from={start.isoformat()}&to={end.isoformat()}"


async def read_response(reader: asyncio.StreamReader) -> bytes:
    """Read one whole HTTP/1.1 answer (status line, headers, a Content-Length body): its status code."""
    status = (await reader.readline()).split(b" ", 2)[1]
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _keep_alive_client(host: str, port: int, request: Callable[[], bytes], until: Callable[[], bool],
                             latencies: list[float]) -> int:
    """One client on one keep-alive connection: send, read the whole answer, repeat. Returns errors."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while until():
            t0 = time.perf_counter()
            writer.write(request())
            status = await read_response(reader)
            latencies.append(time.perf_counter() - t0)
            errors += status != b"200"
    finally:
        writer.close()
    return errors


async def _load(base: str, token: str, requests: int, seconds: float, new_period: bool = False,
                offset: int = 0) -> dict[str, float]:
    """CONCURRENCY clients, each sending its next request when the last one is answered.

    Plain HTTP/1.1 over asyncio streams rather than httpx: on this 2-core machine httpx spent about
    twice the server's CPU per request, so it measured itself rather than the server.
    """
    host, port = base.removeprefix("http://").split(":")
    numbers = itertools.count(offset)

    def request() -> bytes:
        path = _path(new_period, next(numbers))
        return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()

    # Not counted: the first WARMUP_SECONDS of the same load. A server just started makes the dashboard's
    # first views in a background thread (api/warm.py, about a second of CPU) while it serves.
    warm_until = time.perf_counter() + WARMUP_SECONDS
    await asyncio.gather(*(_keep_alive_client(host, int(port), request, lambda: time.perf_counter() < warm_until, [])
                           for _ in range(CONCURRENCY)))
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


def _client_process(base: str, token: str, requests: int, seconds: float, new_period: bool = False,
                    offset: int = 0) -> dict[str, float]:
    """Run the load generator in its own process and read its JSON result."""
    extra = ["--new-period", "--offset", str(offset)] if new_period else []
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.api_bench", "--client", base, "--token", token, "--requests",
         str(requests), "--seconds", str(seconds), *extra],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


MODES = (  # (label, response cache, daily cube, a new period in every request, uvicorn workers)
    ("same request, cache on (default)", True, True, False, 1),
    ("same request, cache on (default)", True, True, False, 2),
    ("new period each request, daily cube", True, True, True, 1),
    ("new period each request, daily cube", True, True, True, 2),
    ("new period each request, facts (KPIDASH_CUBE=false)", True, False, True, 1),
    ("new period each request, facts (KPIDASH_CUBE=false)", True, False, True, 2),
)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table of medians, one row per mode."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000, help="requests per round (at most)")
    parser.add_argument("--seconds", type=float, default=20, help="time per round (at most)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode; medians are reported")
    parser.add_argument("--old", help="a git revision whose server runs each mode too, side by side")
    parser.add_argument("--modes", nargs="*", help="only the modes whose label holds one of these words")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: be the load generator
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--new-period", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        print(json.dumps(asyncio.run(_load(args.client, args.token, args.requests, args.seconds, args.new_period,
                                           args.offset))))
        return

    token = prepare()
    modes = [m for m in MODES if not args.modes or any(word in m[0] for word in args.modes)]
    versions: dict[str, Path | None] = {"this": None}
    if args.old:
        from benchmarks.cli_bench import _old_code

        versions = {f"old ({args.old})": _old_code(args.old), "this": None}
    print(f"\nGET {PATH}, {CONCURRENCY} concurrent clients, {args.rounds} rounds per mode (modes alternate)\n")
    print("| mode | code | workers | requests | errors | p50 | p99 | requests/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    results: dict[tuple, list[dict[str, float]]] = {(mode, v): [] for mode in modes for v in versions}
    for r in range(args.rounds):  # the modes alternate, so a busy spell of the machine hits them all
        for mode in modes:
            for version, code in versions.items():
                _, cache, cube, new_period, workers = mode
                proc, base = start_server(cache, cube, workers, code)
                try:
                    if workers > 1:
                        time.sleep(5)  # every worker up, not only the first to answer /ready
                    results[(mode, version)].append(_client_process(base, token, args.requests, args.seconds,
                                                                    new_period, offset=r * args.requests))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
    for ((label, _, _, _, workers), version), rounds in results.items():
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        print(f"| {label} | {version} | {workers} | {med['requests']:,.0f} | {med['errors']:.0f} | "
              f"{med['p50_ms']:,.1f} ms | {med['p99_ms']:,.1f} ms | {med['rps']:,.0f} |", flush=True)

if __name__ == "__main__":
    main()
