"""Screenshots of the dashboard as another commit served it: issue 16's "before" pictures
(docs/issue16-before-after.md). Not a test, and no test needs it.

    .venv/bin/python tests/dashboard/screenshot_commit.py a12bf14 docs/img/issue16/before

checks COMMIT out into a temporary git worktree; makes and loads the sample trust there (seed 1, scale 1,
ending 2025-11-23, as the tests' sample) and adds one user per role, all with that commit's own code,
run by this checkout's .venv with PYTHONPATH at the old tree (it refuses if the old tree's modules are
not the ones imported); starts that tree's service on a free loopback port; signs in as the users and
takes VIEWS as the browser tests take them, then stops the service and removes the worktree.

The "after" pictures are taken by the browser tests themselves: with KPIDASH_DOC_SHOTS=1 each view in
VIEWS is also written to docs/img/issue16/after/ (tests/dashboard/test_pages_browser.py, Session.shot).
Both sets are viewport-sized JPEGs (doc_shot), so the two sides compare and stay small. Only the
synthetic sample trust appears in them.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: the shared test helpers are under ROOT/tests
    sys.path.insert(0, str(ROOT))

from tests.chromium import launch, sign_in  # noqa: E402
from tests.live_server import free_port, wait_until_healthy  # noqa: E402
from tests.role_users import PASSWORD  # noqa: E402  (the browser tests' users' password)

DOC_AFTER = ROOT / "docs" / "img" / "issue16" / "after"
DESK, PHONE = (1366, 768), (390, 844)

# the browser tests' screenshot name -> the documentation's file name (docs/issue16-before-after.md)
VIEWS = {
    "sign-in-opened": "sign-in-opened",
    "sign-in-refused": "sign-in-wrong-password",
    "today-executive": "today-desk",
    "drill-down-stock-rate": "drill-down-stock",
    "drill-down-flow-rate": "drill-down-flow",
    "session-ended-dialog": "session-ended",
    "team-head-of-service": "team-head-of-service",
    "today-phone-head-of-service": "today-phone",
    "trends-phone": "trends-phone",
}

# Runs inside the old tree: the sample trust made and loaded, one user per role, by that commit's code.
SETUP = """
import datetime as dt, json, sys
from pathlib import Path
import api, duckdb
assert Path(api.__file__).resolve().is_relative_to(Path.cwd().resolve()), f"imported {api.__file__}, not the old tree's"
from sample_data import generate_sample
from etl import load_extract
from api import accounts
from core import appdb
from core.settings import get_settings
data = Path(sys.argv[1])
generate_sample(data / "extract", seed=1, scale=1.0, end_date=dt.date(2025, 11, 23))
result = load_extract(data / "extract")
assert result.status == "published", result.message
engine = appdb.make_engine(get_settings().app_db)
appdb.ensure_schema(engine)
with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
    teams = con.execute("SELECT team_id, service FROM teams ORDER BY team_id").fetchall()
team, service = teams[0]
for role in ("executive", "head_of_service", "team_manager", "analyst", "admin"):
    scope = {"team": team} if role == "team_manager" else {"service": service} if role == "head_of_service" else {}
    accounts.add_user(engine, f"dash_{role}", role, password=sys.argv[2], **scope)
print(json.dumps({"team": team, "service": service}))
"""


def doc_shot(page: object, folder: Path, name: str) -> None:
    """The view as the documentation shows it: the viewport only, as a JPEG (a full page runs to 17,000 px)."""
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{VIEWS[name]}.jpg"), type="jpeg", quality=70)


def _settle(page: object, selector: str, timeout: float = 20_000) -> bool:
    """Wait for `selector`; an old commit may lack it, so the view is shot as it stands (True if it came)."""
    try:
        page.wait_for_selector(selector, timeout=timeout)
        return True
    except Exception:  # noqa: BLE001  playwright's TimeoutError: the old page has no such element
        return False


def _text_appears(page: object, selector: str, timeout: float = 20.0, unlike: str = "") -> None:
    """Wait (a Python loop: the dashboard's CSP forbids JavaScript strings) until `selector` holds text other
    than `unlike`; the view is shot as it stands if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        element = page.query_selector(selector)
        if element is not None and element.inner_text().strip() not in ("", unlike.strip()):
            return
        time.sleep(0.2)


def end_sessions(app_db: Path) -> None:
    """Every sign-in session expired in the app database: the browser tests clear the session cookie, but
    an older dashboard kept its token elsewhere, so the session is ended where every version checks it."""
    with sqlite3.connect(app_db) as con:
        con.execute("UPDATE tokens SET expires_at = '2000-01-01 00:00:00.000000' WHERE kind = 'session'")
    con.close()


def take_views(url: str, folder: Path, app_db: Path) -> list[str]:
    """The views of VIEWS, as the browser tests reach them; returns the notes of views that did not settle."""
    from playwright.sync_api import sync_playwright

    notes: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)

        def session(size: tuple[int, int]) -> object:
            return browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()

        def sign_in_as(page: object, role: str) -> None:
            sign_in(page, url, f"dash_{role}", timeout=30_000)
            page.wait_for_timeout(1_000)  # the banner and sparklines finish drawing

        page = session(DESK)  # test_nothing_with_data_before_sign_in_and_a_wrong_password_says_so
        page.goto(url + "/today")
        page.wait_for_selector("#signin-username")
        page.wait_for_timeout(1_500)  # the page's first callbacks have run (test_a_wrong_password_is_said_once)
        doc_shot(page, folder, "sign-in-opened")
        page.fill("#signin-username", "dash_executive")
        page.fill("#signin-password", "not-the-password")
        before = page.inner_text("#signin-message")  # an older page may open with an error already shown
        page.click("#signin-button")
        _text_appears(page, "#signin-message", unlike=before)
        page.wait_for_timeout(1_000)  # everything the refusal writes
        doc_shot(page, folder, "sign-in-refused")
        page.context.close()

        page = session(DESK)  # the executive's Today, then the drill-down (test_drill_down_reads_as_a_practitioner_would)
        sign_in_as(page, "executive")
        doc_shot(page, folder, "today-executive")
        for kpi, name in (("allocation_rate", "drill-down-stock-rate"), ("icpc_within_15wd", "drill-down-flow-rate")):
            page.click(f"#tile-{kpi} button")
            if not _settle(page, "#drawer .ag-row"):
                notes.append(f"{name}: no records grid appeared")
            page.wait_for_timeout(800)
            doc_shot(page, folder, name)
            page.click("#drawer-close")
            page.wait_for_timeout(300)
        page.context.close()

        page = session(DESK)  # test_an_ended_session_offers_a_sign_in_link_never_api_instructions
        sign_in_as(page, "executive")
        page.context.clear_cookies()
        end_sessions(app_db)
        page.click("#tile-unallocated_cases button")
        _text_appears(page, "#drawer-message")
        page.wait_for_timeout(500)
        doc_shot(page, folder, "session-ended-dialog")
        page.context.close()

        page = session(DESK)  # test_a_head_of_service_starts_on_their_service_and_the_view_is_in_the_address
        sign_in_as(page, "head_of_service")
        page.click("text=Team")
        if not _settle(page, "#team-summary"):
            notes.append("team-head-of-service: no team summary appeared")
        page.wait_for_timeout(800)
        doc_shot(page, folder, "team-head-of-service")
        page.context.close()

        page = session(PHONE)  # test_head_of_service_trends_and_phone_width
        sign_in_as(page, "head_of_service")
        doc_shot(page, folder, "today-phone-head-of-service")
        page.click("text=Trends")
        if not _settle(page, "#trend-allocation_rate svg.xmr", timeout=60_000):
            notes.append("trends-phone: no allocation chart appeared")
        page.wait_for_timeout(800)
        doc_shot(page, folder, "trends-phone")
        page.context.close()
        browser.close()
    return notes


def serve_commit(commit: str, work: Path) -> tuple[subprocess.Popen, str, Path]:
    """COMMIT in a worktree under `work`, its sample trust loaded and its service started."""
    tree, data = work / "tree", work / "data"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit], check=True,
                   capture_output=True)
    data.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tree), "KPIDASH_DB": str(data / "warehouse.duckdb"),
           "KPIDASH_ARCHIVE_DIR": str(data / "archive"), "KPIDASH_APP_DB": f"sqlite:///{data / 'app.db'}",
           "KPIDASH_WARM_AFTER_LOAD": "false", "KPIDASH_DEMO_USERS": "false"}
    made = subprocess.run([sys.executable, "-c", SETUP, str(data), PASSWORD], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=900)
    if made.returncode != 0:
        raise SystemExit(f"the sample trust could not be loaded with {commit}'s code:\n{made.stderr[-3000:]}")
    scope = json.loads(made.stdout.strip().splitlines()[-1])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data / "server.log", "wb")  # noqa: SIM115  the service's, closed with it
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-proxy-headers"],
                            cwd=tree, env={**env, "KPIDASH_API_URL": url}, stdout=log, stderr=subprocess.STDOUT)
    if not wait_until_healthy(url, proc, seconds=90):
        proc.kill()
        raise SystemExit("the service did not start: " + (data / "server.log").read_text()[-2000:])
    print(f"{commit}: sample trust loaded (team {scope['team']}, service {scope['service']}), serving on {url}")
    return proc, url, tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commit", help="the commit to photograph, e.g. a12bf14 (the base of issue 16)")
    parser.add_argument("out", type=Path, help="the folder for the JPEGs, e.g. docs/img/issue16/before")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kpidash-shots-") as work:
        tree = Path(work) / "tree"
        proc = None
        try:
            proc, url, tree = serve_commit(args.commit, Path(work))
            notes = take_views(url, args.out.resolve(), Path(work) / "data" / "app.db")
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
            # only this worktree (no `git worktree prune`: the repository's other worktrees are not ours)
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
    for note in notes:
        print("not settled (shot as it stood):", note)
    print(f"{len(VIEWS)} views written to {args.out}")


if __name__ == "__main__":
    main()
