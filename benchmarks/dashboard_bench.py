"""Dashboard speed in headless Chromium on the sample trust: Today's data on screen after navigation,
and a scope change.

    .venv/bin/python -m benchmarks dashboard_bench [--rounds 5] [--url URL --username U --password P]

With no --url it starts its own server (uvicorn, one worker) on the sample trust loaded under
data/bench/api (as api_bench does) and signs in as a user it makes itself, so `make bench` needs no
credentials. Without Chromium or Playwright it says so and measures nothing."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def main(argv: list[str] | None = None) -> None:
    """Medians of --rounds runs: sign-in to tiles shown, then a scope change to new tiles shown."""
    parser = argparse.ArgumentParser(prog="dashboard_bench")
    parser.add_argument("--url", help="a running kpidash (default: start one on the sample trust)")
    parser.add_argument("--username", help="with --url: who to sign in as")
    parser.add_argument("--password", help="with --url: their password")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("dashboard_bench: Playwright is not installed; nothing measured")
        return
    if not Path(CHROMIUM).exists():
        print(f"dashboard_bench: no Chromium at {CHROMIUM}; nothing measured")
        return
    if args.url is None:
        from benchmarks.api_bench import prepare_user, start_server

        args.username, args.password = prepare_user("bench_dashboard")
        proc, args.url = start_server(cache=True)
        try:
            _measure(sync_playwright, args)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        return
    if not (args.username and args.password):
        parser.error("--url needs --username and --password")
    _measure(sync_playwright, args)


def _measure(sync_playwright, args: argparse.Namespace) -> None:  # noqa: ANN001
    load, scope = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(args.url + "/")
        page.fill("#signin-username", args.username)
        page.fill("#signin-password", args.password)
        page.click("#signin-button")
        page.wait_for_selector(".tile .value", timeout=30_000)
        for _ in range(args.rounds):
            start = time.perf_counter()
            page.goto(args.url + "/today")
            page.wait_for_selector(".tile .value", timeout=30_000)
            load.append(time.perf_counter() - start)
            start = time.perf_counter()
            page.click("#today-scope")
            page.locator("[role=option]", has_text="Service:").first.click()
            # a locator, not a JavaScript string: the dashboard's Content-Security-Policy forbids eval
            page.locator("#today-tiles .as-at").filter(has_not_text="whole").wait_for(timeout=30_000)
            scope.append(time.perf_counter() - start)
        browser.close()
    print(f"Today data shown after navigation: median {statistics.median(load) * 1000:.0f} ms (target < 1500 ms)")
    print(f"scope change to new tiles (browser-observed, includes rendering): median "
          f"{statistics.median(scope) * 1000:.0f} ms (target: server time < 300 ms)")


if __name__ == "__main__":
    main()
