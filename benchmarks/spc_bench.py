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
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks.api_bench import _free_port, wait_until_ready
from benchmarks.kpi_bench import NATIONAL_FACTOR, load_settings, national_warehouse, sample_warehouse
from kpis import KPIS, kpi_spc, kpi_trend, open_warehouse
from kpis.spc import last_complete_period_end, period_bounds, spc_from_trend

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench" / "spc"
USER, PASSWORD = "spc_bench", "spc-bench-password-1"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median time of each function, the functions run in turn each round so they see the same machine."""
    for fn in fns.values():
        fn()  # warm
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def in_process(db: Path, repeat: int, label: str) -> None:
    with open_warehouse(db) as wh:
        ends = {by: last_complete_period_end(by, wh.extract_date) for by in ("month", "week")}
        cases = [
            ("every KPI, every team, 24 months", "month", "team"),
            ("every KPI, every team, 24 weeks", "week", "team"),
            ("every KPI, every worker, 24 months", "month", "worker"),
            ("every KPI, the trust, 24 months", "month", "trust"),
        ]
        print(f"\n{label}: medians of {repeat}, the three measures in turn each round")
        print("| request | `kpi_spc` (what the API serves) | its `kpi_trend` | XmR from the trend's rows |")
        print("| --- | --- | --- | --- |")
        for name, by, level in cases:
            rows = kpi_trend(wh, None, by, 24, level, date_to=ends[by])
            bounds = period_bounds(by, 24, ends[by])
            t = _interleaved({
                "spc": lambda: kpi_spc(wh, None, by, 24, level),
                "trend": lambda: kpi_trend(wh, None, by, 24, level, date_to=ends[by]),
                "xmr": lambda: spc_from_trend(rows, KPIS, by, bounds, wh.config.targets, wh.config.spc_settings),
            }, repeat)
            print(f"| {name} | {_ms(t['spc'])} | {_ms(t['trend'])} | {_ms(t['xmr'])} |")
        one = _interleaved({"one": lambda: json.dumps(kpi_spc(wh, "assessments_within_45wd"), indent=2)}, repeat)
        print(f"| `kpidash spc assessments_within_45wd --format json` in process (compute and print) | "
              f"{_ms(one['one'])} | – | – |")


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


def _prepare(db: Path) -> dict[str, str]:
    """A copy of the sample warehouse under data/bench/spc with a user to sign in as."""
    import shutil

    from api import accounts
    from core import appdb

    WORK.mkdir(parents=True, exist_ok=True)
    shutil.copy(db, WORK / "warehouse.duckdb")
    env = {"KPIDASH_DB": str(WORK / "warehouse.duckdb"), "KPIDASH_ARCHIVE_DIR": str(WORK / "archive"),
           "KPIDASH_APP_DB": f"sqlite:///{WORK / 'app.db'}"}
    with load_settings(WORK / "warehouse.duckdb", WORK / "archive", WORK / "app.db"):
        engine = appdb.get_engine()
        appdb.ensure_schema(engine)
        if USER not in {u.username for u in accounts.list_users(engine)}:
            accounts.add_user(engine, USER, "executive", password=PASSWORD)
        engine.dispose()
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
        if not wait_until_ready(base, proc):
            raise SystemExit("the server did not become ready within 60 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


# the first chart of the page body, then every chart of it: XmR SVGs now, Plotly graphs before
# locators, not JavaScript strings: the dashboard's Content-Security-Policy forbids eval
CHARTS = "#trends-body svg.xmr, #trends-body .js-plotly-plot .main-svg"


def _first(page, **kw) -> None:  # noqa: ANN001, ANN003
    page.locator(CHARTS).first.wait_for(state="attached", **kw)


def _all(page, **kw) -> None:  # noqa: ANN001, ANN003
    page.locator(CHARTS).nth(17).wait_for(state="attached", **kw)  # the 18th chart is there


def browser(env: dict[str, str], rounds: int, versions: dict[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, list[float]]] = {name: {"today": [], "first": [], "all": []} for name in versions}
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
            _all(page, timeout=60_000)
            pages[name] = page
        for _ in range(rounds):
            for name, page in pages.items():  # alternating
                start = time.perf_counter()
                page.goto(bases[name] + "/today")  # the control: a page this work did not set out to speed up
                page.wait_for_selector(".tile .value", timeout=60_000)
                results[name]["today"].append(time.perf_counter() - start)
                start = time.perf_counter()
                page.goto(bases[name] + "/trends")
                _first(page, timeout=60_000)
                results[name]["first"].append(time.perf_counter() - start)
                _all(page, timeout=60_000)
                results[name]["all"].append(time.perf_counter() - start)
        chromium.close()
    print(f"\nTrends in headless Chromium at 1366x768, navigation to chart on screen, median of {rounds} "
          "(API cache warm):")
    print("| version | Trends: first chart | Trends: all 18 charts | Today: tiles (for scale) |")
    print("| --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {_ms(statistics.median(r['first']))} | {_ms(statistics.median(r['all']))} | "
              f"{_ms(statistics.median(r['today']))} |")


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
