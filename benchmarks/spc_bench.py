"""SPC benchmark on the sample trust: the server's work for SPC requests, `kpidash spc`, and Trends'
first chart in headless Chromium.

    .venv/bin/python -m benchmarks spc_bench [--repeat 7] [--rounds 5] [--national] [--no-browser]
                                             [--compare-with DIR]

In-process (the server's time, no HTTP): every KPI's SPC for every team over 24 months (the issue's
aim: < 0.5 s), by week, at worker level, one KPI at the trust as `kpidash spc` computes and prints it;
each beside the kpi_trend call it is built on, so the SPC's own cost is the difference. The CLI's wall
time is measured beside `kpidash --help`, the start-up every command pays (issue 18 works on it).
The browser part starts `uvicorn api.app:create_server_app` on the sample trust (as api_bench does)
and times navigation to Trends until its first XmR chart is on screen, and until all are; with
--compare-with DIR (a checkout of another version, e.g. `git archive main | tar -x -C DIR`) the same
is timed against a server running DIR's code, rounds alternating, so the two are compared side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchmarks.kpi_bench import NATIONAL_FACTOR, national_warehouse, sample_warehouse
from benchmarks.kpi_bench import _median_time as _median
from kpis import kpi_spc, kpi_trend, open_warehouse
from kpis.spc import last_complete_period_end

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench" / "spc"
USER, PASSWORD = "spc_bench", "spc-bench-password-1"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def in_process(db: Path, repeat: int, label: str) -> None:
    with open_warehouse(db) as wh:
        month_end = last_complete_period_end("month", wh.extract_date)
        week_end = last_complete_period_end("week", wh.extract_date)
        cases = [
            ("every KPI, every team, 24 months", "month", "team", None, month_end),
            ("every KPI, every team, 24 weeks", "week", "team", None, week_end),
            ("every KPI, every worker, 24 months", "month", "worker", None, month_end),
            ("every KPI, the trust, 24 months", "month", "trust", None, month_end),
        ]
        print(f"\n{label}: median of {repeat} (after a warm-up run)")
        print("| request | kpi_trend alone | SPC (trend + XmR) | SPC's own share |")
        print("| --- | --- | --- | --- |")
        for name, by, level, kpi, end in cases:
            trend = _median(lambda: kpi_trend(wh, kpi, by, 24, level, date_to=end), repeat)
            spc = _median(lambda: kpi_spc(wh, kpi, by, 24, level), repeat)
            print(f"| {name} | {_ms(trend)} | {_ms(spc)} | {_ms(spc - trend)} |")
        one = _median(lambda: json.dumps(kpi_spc(wh, "assessments_within_45wd"), indent=2), repeat)
        print(f"| `kpidash spc assessments_within_45wd --format json`, in process (compute + print) | – | {_ms(one)} | – |")


def cli_wall(db: Path, rounds: int) -> None:
    env = {**os.environ, "KPIDASH_DB": str(db)}
    kpidash = str(Path(sys.executable).with_name("kpidash"))

    def run(*args: str) -> float:
        start = time.perf_counter()
        subprocess.run([kpidash, *args], env=env, check=True, capture_output=True)
        return time.perf_counter() - start

    spc, help_ = [], []
    for _ in range(rounds):  # alternating, so both see the same machine
        spc.append(run("spc", "assessments_within_45wd", "--format", "json"))
        help_.append(run("--help"))
    print(f"\nCLI wall time, median of {rounds}: `kpidash spc assessments_within_45wd --format json` "
          f"{_ms(statistics.median(spc))}; `kpidash --help` {_ms(statistics.median(help_))} "
          "(start-up every command pays)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(db: Path) -> dict[str, str]:
    """A copy of the sample warehouse under data/bench/spc with a user to sign in as."""
    import shutil

    from api import accounts
    from core.appdb import get_engine
    from core.settings import get_settings

    WORK.mkdir(parents=True, exist_ok=True)
    shutil.copy(db, WORK / "warehouse.duckdb")
    env = {"KPIDASH_DB": str(WORK / "warehouse.duckdb"), "KPIDASH_ARCHIVE_DIR": str(WORK / "archive"),
           "KPIDASH_APP_DB": f"sqlite:///{WORK / 'app.db'}"}
    saved = dict(os.environ)
    os.environ.update(env)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        from core import appdb

        engine = get_engine()
        appdb.ensure_schema(engine)
        if USER not in {u.username for u in accounts.list_users(engine)}:
            accounts.add_user(engine, USER, "executive", password=PASSWORD)
        engine.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        get_engine.cache_clear()
    return env


@contextlib.contextmanager
def _server(env: dict[str, str], code: Path) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_server_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
        cwd=code, env={**os.environ, **env, "KPIDASH_API_URL": base, "PYTHONPATH": str(code)},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the server did not become ready within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


# the first chart of the page body, then every chart of it: XmR SVGs now, Plotly graphs before
FIRST = ("document.querySelector('#trends-body svg.xmr, #trends-body .js-plotly-plot .main-svg') !== null")
ALL = ("document.querySelectorAll('#trends-body svg.xmr').length >= 18 || "
       "document.querySelectorAll('#trends-body .js-plotly-plot .main-svg').length >= 18")


def browser(env: dict[str, str], rounds: int, versions: dict[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, list[float]]] = {name: {"first": [], "all": []} for name in versions}
    with contextlib.ExitStack() as stack:
        bases = {name: stack.enter_context(_server(env, code)) for name, code in versions.items()}
        p = stack.enter_context(sync_playwright())
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        pages = {}
        for name, base in bases.items():
            page = chromium.new_page(viewport={"width": 1366, "height": 768})
            page.goto(base + "/")
            page.fill("#signin-username", USER)
            page.fill("#signin-password", PASSWORD)
            page.press("#signin-password", "Enter")
            page.wait_for_selector(".tile .value", timeout=60_000)
            page.goto(base + "/trends")  # warm: the API's cache and the browser's copies of the bundles
            page.wait_for_function(ALL, timeout=60_000)
            pages[name] = page
        for _ in range(rounds):
            for name, page in pages.items():  # alternating
                page.goto(bases[name] + "/today")
                page.wait_for_selector(".tile .value", timeout=60_000)
                start = time.perf_counter()
                page.goto(bases[name] + "/trends")
                page.wait_for_function(FIRST, timeout=60_000, polling=20)
                results[name]["first"].append(time.perf_counter() - start)
                page.wait_for_function(ALL, timeout=60_000, polling=20)
                results[name]["all"].append(time.perf_counter() - start)
        chromium.close()
    print(f"\nTrends in headless Chromium at 1366x768, navigation to chart on screen, median of {rounds} "
          "(API cache warm):")
    print("| version | first chart | all 18 charts |")
    print("| --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {_ms(statistics.median(r['first']))} | {_ms(statistics.median(r['all']))} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="spc_bench")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--national", action="store_true", help=f"also the sample x{NATIONAL_FACTOR} warehouse")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--compare-with", type=Path, help="another checkout whose Trends to time side by side")
    args = parser.parse_args(argv)
    db = sample_warehouse()
    in_process(db, args.repeat, "Sample trust (seed 1, scale 1, extract 2025-11-24)")
    if args.national:
        in_process(national_warehouse(db, NATIONAL_FACTOR), 3, f"National scale (sample x{NATIONAL_FACTOR})")
    cli_wall(db, args.rounds)
    if not args.no_browser and Path("/usr/bin/chromium").exists():
        versions = {"this checkout": ROOT}
        if args.compare_with:
            versions[str(args.compare_with)] = args.compare_with.resolve()
        browser(_prepare(db), args.rounds, versions)


if __name__ == "__main__":
    main()
