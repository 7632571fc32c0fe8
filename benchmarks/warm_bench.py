"""The first minute after a load, with and without warming (KPIDASH_WARM_AFTER_LOAD).

The server is `uvicorn api.app:create_server_app --factory`, one worker, on the sample trust (seed 1,
scale 1, under data/bench/warm). 32 keep-alive clients in another process ask, round and round, for
what the dashboard's Today page asks for every scope (the trust, each service, each team: the figures
on the extract date, the day before, a week before, and the 30-day sparklines). After 5 s a new load
of the same extract is published; the latencies of the requests sent in the 60 s after the load
command returns are reported (p50, p99, max), warming off and on, side by side, and those sent from
the load's start to 10 s after it returns: what a version served while the load runs costs readers
(a load that published an unwarmed version early would show there, not in the first window).

    .venv/bin/python -m benchmarks warm_bench [--seconds 60] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode

import httpx

from benchmarks.api_bench import CONCURRENCY, ROOT, _free_port, read_response, wait_until_ready
from benchmarks.kpi_bench import load_settings

WORK = ROOT / "data" / "bench" / "warm"
DAILY = ("allocation_rate", "unallocated_cases", "average_caseload", "assessments_overdue")


def _env(warm: bool | None = None) -> dict[str, str]:
    env = {**os.environ, "KPIDASH_DB": str(WORK / "warehouse.duckdb"), "KPIDASH_ARCHIVE_DIR": str(WORK / "archive"),
           "KPIDASH_APP_DB": f"sqlite:///{WORK / 'app.db'}"}
    if warm is not None:
        env["KPIDASH_WARM_AFTER_LOAD"] = "true" if warm else "false"
    return env


def prepare() -> tuple[str, list[str]]:
    """The sample trust loaded once, a token, and the Today requests of every scope."""
    from api import accounts
    from core.appdb import get_engine
    from core.settings import get_settings
    from dashboard.pages.today import DAILY_KPIS
    from kpis import open_warehouse

    with load_settings(WORK / "warehouse.duckdb", WORK / "archive", WORK / "app.db"):
        if not (WORK / "warehouse.duckdb").exists():
            from etl import load_extract
            from sample_data import generate_sample

            generate_sample(WORK / "extract", seed=1, scale=1.0)
            assert load_extract(WORK / "extract").status == "published"
        engine = get_engine()
        if "bench" not in {u.username for u in accounts.list_users(engine)}:
            accounts.add_user(engine, "bench", "analyst")
        token = accounts.create_api_token(engine, "bench", days=1, name="benchmark").token
        engine.dispose()
        with open_warehouse(get_settings().db) as wh:
            as_at, teams = wh.extract_date, wh.teams()
    scopes = [("trust", None)] + [("service", s) for s in dict.fromkeys(t["service"] for t in teams)] + \
             [("team", t["team_id"]) for t in teams]
    paths = []
    for level, unit in scopes:
        where = [("unit", unit)] if unit else []
        for day in (as_at, as_at - dt.timedelta(days=1), as_at - dt.timedelta(days=7)):
            paths.append("/api/v1/kpis?" + urlencode([("level", level), ("fields", "all"), *where,
                                                      ("to", day.isoformat())] + [("kpi", k) for k in DAILY_KPIS]))
        paths.append("/api/v1/dashboard/daily?" + urlencode([("days", 30), ("level", level), *where,
                                                             ("to", as_at.isoformat())] + [("kpi", k) for k in DAILY_KPIS]))
    return token, paths


async def _client(host: str, port: int, requests: list[bytes], offset: int, stop_at: float,
                  out: list[tuple[float, float, int]]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while time.time() < stop_at:
            t0 = time.time()
            writer.write(requests[i % len(requests)])
            status = int(await read_response(reader))
            out.append((t0, time.time() - t0, status))
            i += 1
    finally:
        writer.close()


async def _load(base: str, token: str, paths: list[str], seconds: float) -> list[tuple[float, float, int]]:
    host, port = base.removeprefix("http://").split(":")
    requests = [f"GET {p} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode() for p in paths]
    out: list[tuple[float, float, int]] = []
    stop_at = time.time() + seconds
    await asyncio.gather(*(_client(host, int(port), requests, i * 7, stop_at, out) for i in range(CONCURRENCY)))
    return out


def _round(warm: bool, token: str, paths: list[str], seconds: float) -> dict[str, float]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_server_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=_env(warm))
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ready(base, server):
            raise SystemExit("the API server did not become ready within 60 s")
        time.sleep(20)  # the start-up warm-up (warming on) is done: both modes start from a warm cache
        for path in paths:  # and every view has been asked once on the current version
            httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        client = subprocess.Popen([sys.executable, "-m", "benchmarks.warm_bench", "--client", base, "--token", token,
                                   "--seconds", str(seconds + 10)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        time.sleep(5)
        load_started = time.time()
        loaded = subprocess.run([sys.executable, "-m", "cli.main", "load", str(WORK / "extract")], cwd=ROOT,
                                env=_env(), capture_output=True, text=True, check=True)
        published_at = time.time()
        assert "published" in loaded.stdout, loaded.stdout
        samples = json.loads(client.communicate()[0])
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    errors = sum(1 for t0, _, status in samples if status != 200)
    return {"after": _stats([lat for t0, lat, _ in samples if published_at <= t0 < published_at + seconds], errors),
            "during": _stats([lat for t0, lat, _ in samples if load_started <= t0 < published_at + 10], errors)}


def _stats(latencies: list[float], errors: int) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"requests": len(ordered), "errors": errors, "p50_ms": 1000 * ordered[len(ordered) // 2],
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], "max_ms": 1000 * ordered[-1]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="the window after the load that is measured")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per mode, alternating; medians reported")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    token, paths = prepare()
    if args.client:
        print(json.dumps(asyncio.run(_load(args.client, args.token, paths, args.seconds))))
        return
    print(f"{len(paths)} Today requests (every scope), {CONCURRENCY} clients, one worker; a load published after 5 s; "
          f"{args.rounds} round(s) per mode (errors: in the whole run)")
    results: dict[bool, list[dict[str, dict[str, float]]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for warm in (False, True):
            results[warm].append(_round(warm, token, paths, args.seconds))
    for window, title in (("after", f"the {args.seconds:.0f} s after the load returns"),
                          ("during", "from the load's start to 10 s after it returns")):
        print(f"\n{title}\n{'warming':8} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for warm in (False, True):
            med = {k: statistics.median(r[window][k] for r in results[warm]) for k in results[warm][0][window]}
            print(f"{'on' if warm else 'off':8} {med['requests']:>9.0f} {med['errors']:>7.0f} {med['p50_ms']:>8.1f} "
                  f"{med['p99_ms']:>8.1f} {med['max_ms']:>8.1f}")


if __name__ == "__main__":
    main()
