"""`kpidash spc` (cli/kpi_commands.py) on a hand-made warehouse at KPIDASH_DB: the spec's JSON, a
readable table, and bad input as a message, never a traceback."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from test_kpi_commands import _run
from test_spc import EPISODES, REFERRALS, SUNDAY
from warehouse_builder import build_warehouse

from core.settings import get_settings
from kpis import kpi_spc, open_warehouse


@pytest.fixture
def db(isolated_settings):
    path = build_warehouse(isolated_settings.db, {"referrals": REFERRALS, "episodes": EPISODES}, extracted_at=SUNDAY)
    get_settings.cache_clear()
    return path


def test_json_is_exactly_kpi_spc(db) -> None:
    result = _run("spc", "referrals", "--by", "month", "--periods", "3", "--level", "team", "--format", "json")
    assert result.exit_code == 0, result.output
    with open_warehouse(db) as wh:
        assert json.loads(result.stdout) == kpi_spc(wh, "referrals", "month", 3, "team")
    assert [c["unit"] for c in json.loads(result.stdout)] == ["T1", "T2", "T3", "UNKNOWN"]


def test_unit_and_to(db) -> None:
    result = _run("spc", "referrals", "--by", "week", "--periods", "2", "--level", "team", "--unit", "T2",
                  "--to", "2025-11-23", "--format", "json")
    (chart,) = json.loads(result.stdout)
    assert [(p["period_start"], p["value"]) for p in chart["points"]] == [("2025-11-10", 0), ("2025-11-17", 2)]


def test_default_periods_is_24(db) -> None:
    (chart,) = json.loads(_run("spc", "open_cases", "--format", "json").stdout)
    assert len(chart["points"]) == 24 and chart["points"][-1]["period_end"] == "2025-10-31"
    assert chart["points"][0]["period_start"] == (dt.date(2023, 11, 1)).isoformat()


def test_table_is_readable(db) -> None:
    result = _run("spc", "re_referral_rate", "--periods", "3")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == ("re_referral_rate  trust trust  by month: variation common_cause, assurance hit_and_miss"
                        "  (trial limits)")
    assert lines[1].split() == ["from", "to", "value", "mean", "lower", "upper", "rules", "special", "cause"]
    assert lines[3].split()[:3] == ["2025-08-01", "2025-08-31", "0"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["spc", "caseloads"], 1, '"caseloads" is not a KPI'),
    (["spc", "referrals", "--level", "team", "--unit", "T9"], 1, '"T9" is not a team'),
    (["spc", "referrals", "--by", "day"], 2, "day"),
    (["spc", "referrals", "--periods", "0"], 2, "greater than or equal to 1"),
    (["spc", "referrals", "--periods", "600"], 1, "1 to 520 periods"),
    (["spc", "referrals", "--to", "2025-13-01"], 2, "is not a date"),
])
def test_bad_input_is_a_message(db, args: list[str], code: int, message: str) -> None:
    result = _run(*args)
    assert result.exit_code == code
    assert message in result.output
