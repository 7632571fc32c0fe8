"""`kpidash kpis`, `records` and `trend` (cli/kpi_commands.py) on a hand-made warehouse at KPIDASH_DB."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import test_kpi_assessments as assessments
import typer
from typer.testing import CliRunner
from warehouse_builder import build_warehouse

from cli.kpi_commands import register
from core.settings import get_settings
from kpis import compute_kpis, kpi_records, kpi_trend, open_warehouse

app = typer.Typer()
register(app)
runner = CliRunner()


@pytest.fixture
def db(isolated_settings):
    path = build_warehouse(isolated_settings.db, {"assessments": assessments.ASSESSMENTS})
    get_settings.cache_clear()
    return path


def _run(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_kpis_json_is_exactly_compute_kpis(db) -> None:
    result = _run("kpis", "--from", "2025-01-01", "--to", "2025-01-31", "--level", "team", "--format", "json")
    assert result.exit_code == 0, result.output
    with open_warehouse(db) as wh:
        expected = compute_kpis(wh, dt.date(2025, 1, 1), dt.date(2025, 1, 31), level="team")
    assert json.loads(result.stdout) == expected
    row = next(r for r in json.loads(result.stdout) if r["kpi"] == "assessments_within_45wd" and r["unit"] == "T1")
    assert row == {"kpi": "assessments_within_45wd", "level": "team", "unit": "T1", "numerator": 1, "denominator": 2,
                   "value": 50.0}
    assert '"denominator":null' in result.stdout  # counts; compact JSON off a terminal (cli/kpi_commands.py)
    assert "\n" not in result.stdout.rstrip("\n")


def test_kpis_defaults_to_the_extract_month(db) -> None:
    result = _run("kpis", "--format", "json", "--kpi", "assessments_overdue")
    # as at the extract date 2025-11-24, O46, O45, O41 and O40 are still open (never authorised), all
    # far beyond 45 working days; OLATE was authorised in February -> 4
    assert json.loads(result.stdout) == [{"kpi": "assessments_overdue", "level": "trust", "unit": "trust",
                                          "numerator": 4, "denominator": None, "value": 4}]


def test_kpis_table_is_readable(db) -> None:
    result = _run("kpis", "--from", "2025-01-01", "--to", "2025-01-31", "--kpi", "assessments_within_45wd")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["kpi", "level", "unit", "value", "numerator", "denominator", "target", "rag"]
    assert lines[2].split() == ["assessments_within_45wd", "trust", "trust", "40.0%", "2", "5", "90", "red"]


def test_records_lists_the_children_behind_a_figure(db) -> None:
    result = _run("records", "assessments_within_45wd", "--unit", "T1", "--from", "2025-01-01", "--to", "2025-01-31",
                  "--format", "json")
    assert result.exit_code == 0, result.output
    with open_warehouse(db) as wh:
        assert json.loads(result.stdout) == kpi_records(wh, "assessments_within_45wd", "T1", dt.date(2025, 1, 1),
                                                        dt.date(2025, 1, 31))
    table = _run("records", "assessments_within_45wd", "--unit", "T1", "--from", "2025-01-01", "--to", "2025-01-31")
    assert "1 counted in the numerator, 1 only in the denominator" in table.stdout


def test_trend_by_week(db) -> None:
    result = _run("trend", "assessments_completed", "--by", "week", "--periods", "3", "--level", "team",
                  "--to", "2025-01-19", "--format", "json")
    assert result.exit_code == 0, result.output
    with open_warehouse(db) as wh:
        assert json.loads(result.stdout) == kpi_trend(wh, ["assessments_completed"], "week", 3, "team",
                                                      date_to=dt.date(2025, 1, 19))
    table = _run("trend", "all", "--periods", "2")
    assert table.exit_code == 0 and "re_referral_rate" in table.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["kpis", "--from", "2025-02-30"], 2, "is not a date: there is no such day"),
        (["kpis", "--to", "31/01/2025"], 2, "is not a date"),
        (["kpis", "--to", "2025-W01-1"], 2, "is not a date"),
        (["kpis", "--from", "2025-02-01", "--to", "2025-01-31"], 1, "after it ends"),
        (["kpis", "--level", "team", "--unit", "T9"], 1, '"T9" is not a team'),
        (["kpis", "--kpi", "caseloads"], 1, '"caseloads" is not a KPI'),
        (["records", "open_cases", "--unit", "Nowhere"], 1, "is not the trust, a team, a service or a worker"),
        (["trend", "caseloads"], 1, '"caseloads" is not a KPI'),
        (["trend", "referrals", "--periods", "0"], 2, "--periods"),
    ],
)
def test_bad_input_is_explained_without_a_traceback(db, args: list[str], code: int, message: str) -> None:
    result = _run(*args)
    assert result.exit_code == code
    assert message in result.output


def test_no_warehouse_yet(isolated_settings) -> None:
    result = _run("kpis")
    assert result.exit_code == 1
    assert "no published warehouse" in result.output and "kpidash load" in result.output


def test_kpis_level_all_lists_every_level_once(db) -> None:
    result = _run("kpis", "--from", "2025-01-01", "--to", "2025-01-31", "--level", "all", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    with open_warehouse(db) as wh:
        singles = [r for lv in ("trust", "service", "team", "worker")
                   for r in compute_kpis(wh, dt.date(2025, 1, 1), dt.date(2025, 1, 31), level=lv)]
    key = lambda r: (r["kpi"], r["level"], r["unit"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(singles, key=key)
    assert {r["level"] for r in rows} == {"trust", "service", "team", "worker"}


def test_json_written_a_slice_at_a_time_is_one_valid_array(db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cli.kpi_commands._JSON_SLICE", 7)  # many slices, one not full
    result = _run("trend", "all", "--periods", "3", "--level", "team", "--to", "2025-11-23", "--format", "json")
    assert result.exit_code == 0, result.output
    with open_warehouse(db) as wh:
        expected = kpi_trend(wh, None, "month", 3, "team", date_to=dt.date(2025, 11, 23))
    assert len(expected) > 7 * 3 and len(expected) % 7
    assert json.loads(result.stdout) == expected


def test_the_table_rounds_values_half_up_as_every_view_does() -> None:
    """13 of 16 is 81.25%: the table prints 81.3% (kpis.targets.format_figure), never half to even 81.2%; a
    caseload of 15.25 cases per FTE reads 15.3, to the one decimal its RAG is judged on."""
    from cli.kpi_commands import _value

    assert _value({"value": 81.25, "unit_of_measure": "%"}) == "81.3%"
    assert _value({"value": 15.25, "unit_of_measure": "cases per FTE"}) == "15.3"
    assert _value({"value": 1953, "unit_of_measure": "count"}) == "1953"


def test_records_of_one_audit_domain_are_its_figures(isolated_settings) -> None:
    """domain_good_or_better is a figure per domain: --domain lists one domain's records, which count to its
    figure; without it every domain's are listed and counted per domain, never as one total that is no figure.
    October (test_kpi_qa): assessment good (DUE), requires improvement (LATE), outstanding (NOTEAM): 2 of 3;
    planning inadequate (DUE): 0 of 1."""
    import test_kpi_qa as qa

    build_warehouse(isolated_settings.db, {"audits": qa.AUDITS, "audit_domains": qa.DOMAINS})
    get_settings.cache_clear()
    october = ("--unit", "trust", "--from", "2025-10-01", "--to", "2025-10-31")
    one = _run("records", "domain_good_or_better", *october, "--domain", "assessment")
    assert one.exit_code == 0, one.output
    assert one.stdout.splitlines()[-1] == "2 counted in the numerator, 1 only in the denominator"
    every = _run("records", "domain_good_or_better", *october).stdout.splitlines()
    assert every[-2:] == ["assessment: 2 counted in the numerator, 1 only in the denominator",
                          "planning: 0 counted in the numerator, 1 only in the denominator"]
    as_json = _run("records", "domain_good_or_better", *october, "--domain", "assessment", "--format", "json")
    with open_warehouse(isolated_settings.db) as wh:
        assert json.loads(as_json.stdout) == kpi_records(wh, "domain_good_or_better", "trust", dt.date(2025, 10, 1),
                                                         dt.date(2025, 10, 31), domain="assessment")
    wrong = _run("records", "domain_good_or_better", *october, "--domain", "kindness")
    assert wrong.exit_code != 0 and '"kindness" is not an audit domain' in wrong.output
