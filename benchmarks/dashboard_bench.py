"""Dashboard speed in headless Chromium on the sample trust: Today's data on screen after navigation,
and a scope change. Uses the test fixtures' live service (a real uvicorn) via pytest's machinery would
be heavy, so it starts its own: pass --url of a running `kpidash serve` and a username/password."""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv: list[str] | None = None) -> None:
    """Medians of --rounds runs: sign-in to tiles shown, then a scope change to new tiles shown."""
    parser = argparse.ArgumentParser(prog="dashboard_bench")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if not (args.username and args.password):  # `make bench` runs every module without arguments
        print("skipped: needs --username and --password of a user of the kpidash serve at --url")
        return
    from playwright.sync_api import sync_playwright

    load, scope = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
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
            page.wait_for_function("document.querySelector('#today-tiles .as-at')?.innerText.includes('whole') === false")
            scope.append(time.perf_counter() - start)
        browser.close()
    print(f"Today data shown after navigation: median {statistics.median(load) * 1000:.0f} ms (target < 1500 ms)")
    print(f"scope change to new tiles (browser-observed, includes rendering): median "
          f"{statistics.median(scope) * 1000:.0f} ms (target: server time < 300 ms)")


if __name__ == "__main__":
    main()
