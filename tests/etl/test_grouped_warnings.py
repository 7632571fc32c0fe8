"""Issue 16, item 16: one rejected worker row made about 1,400 "not in workers.csv" warnings, each a line of
the load's output. The load's message (what `kpidash load` prints and the load log keeps) now groups its
issues by rule and file, with a count and a few examples; the full list stays in the run's archive
(`kpidash rejects RUN`)."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from extract_builder import build_extract, line_of
from typer.testing import CliRunner

from cli import etl_commands
from etl import load_extract, run_issues
from etl.issues import SHOWN_EXAMPLES
from etl.runlog import get_run
from etl.validation import not_in_reason

REFERRALS = 300  # every one allocated to the worker whose row is rejected
NOT_IN_WORKERS = not_in_reason("workers.csv")  # its row was rejected: "(or its row there was rejected)"


def _extract(tmp_path: Path) -> Path:
    return build_extract(tmp_path / "x", add={
        "workers": [{"worker_id": "W2", "fte": "lots"}],  # rejected: fte is not a number
        "referrals": [{"referral_id": f"R{n}", "worker_id": "W2"} for n in range(2, REFERRALS + 2)],
        "allocations": [{"allocation_id": "AL2", "worker_id": "W2"}, {"allocation_id": "AL3", "worker_id": "W2"}],
    })


def test_one_rejected_worker_is_one_line_per_rule_and_file_with_its_count(tmp_path: Path, permissive) -> None:
    result = load_extract(_extract(tmp_path))
    assert result.status == "published", result.message
    lines = result.message.splitlines()
    assert lines[0] == f"published: {REFERRALS + 11:,} rows loaded from 9 files, 1 rejected, {REFERRALS + 2} warnings"
    assert lines[1] == f"rejected rows and warnings by rule and file (every one: kpidash rejects {result.run_id}):"
    assert lines[2] == '  reject   workers.csv fte is not a number (expected e.g. 1 or 0.5): 1 row, e.g. line 3 "lots"'
    first = line_of(1)  # the default referral is line 2; the first added one line 3
    assert lines[3] == (f"  warning  referrals.csv worker_id {NOT_IN_WORKERS}: {REFERRALS} rows, e.g. "
                        + "; ".join(f'line {first + i} "W2"' for i in range(SHOWN_EXAMPLES)) + "; ...")
    assert lines[4] == f'  warning  allocations.csv worker_id {NOT_IN_WORKERS}: 2 rows, e.g. line 3 "W2"; line 4 "W2"'
    assert len(lines) == 5  # not 300 lines
    # the load log keeps the same summary without the cells (every role reads it through /status)
    assert get_run(result.run_id).message == re.sub(r' "[^"]*"', "", result.message)
    # the full list is where it always was: the run's archive, listed by `kpidash rejects`
    warnings = [i for i in run_issues(result.run_id) if i.severity == "warning"]
    assert len(warnings) == REFERRALS + 2
    assert sum(i.file == "referrals.csv" for i in warnings) == REFERRALS


def test_the_load_command_prints_the_groups_not_every_warning(tmp_path: Path, permissive) -> None:
    app = typer.Typer()
    etl_commands.register(app)
    result = CliRunner().invoke(app, ["load", str(_extract(tmp_path))], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("is not in workers.csv") == 2  # one line per file, not one per row
    assert f"referrals.csv worker_id {NOT_IN_WORKERS}: {REFERRALS} rows" in result.stdout
    assert len(result.stdout.splitlines()) < 25
    listed = CliRunner().invoke(app, ["rejects", "--limit", "0"], catch_exceptions=False)
    assert listed.stdout.count("is not in workers.csv") == REFERRALS + 2  # every one, on request


def test_reasons_that_differ_only_in_their_dates_are_one_rule(tmp_path: Path, permissive) -> None:
    folder = build_extract(tmp_path / "x", add={
        "workers": [{"worker_id": "W2", "end_date": "2025-03-31"}, {"worker_id": "W3", "end_date": "2025-06-30"}],
        "allocations": [{"allocation_id": "AL2", "worker_id": "W2"}, {"allocation_id": "AL3", "worker_id": "W3"}],
    })
    result = load_extract(folder)
    assert result.status == "published", result.message
    grouped = [line for line in result.message.splitlines() if "allocations.csv" in line]
    assert grouped == ['  warning  allocations.csv worker_id left on 2025-03-31 but this allocation is open after '
                       'that date (and similar): 2 rows, e.g. line 3 "W2"; line 4 "W3"']


def test_a_clean_load_says_only_its_tally(tmp_path: Path) -> None:
    result = load_extract(build_extract(tmp_path / "x"))
    assert result.message == "published: 9 rows loaded from 9 files, 0 rejected, 0 warnings"
