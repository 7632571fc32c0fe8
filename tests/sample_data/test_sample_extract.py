"""The sample trust's extract keeps the contract: files, columns, formats, rules, references; and is deterministic."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sample_checks import contract_problems, end_date_of, open_extract

from etl.contract import EXTRACT_TABLES, TABLES
from sample_data import SampleSummary, generate_sample

SAMPLE_END_DATE = dt.date(2025, 11, 23)  # tests/conftest.py's; test_the_sample_ends_on_the_fixture_date checks it


@pytest.fixture(scope="module")
def extract(sample_extract: Path):
    con = open_extract(sample_extract)
    yield con
    con.close()


def test_the_sample_ends_on_the_fixture_date(sample_extract: Path) -> None:
    assert end_date_of(sample_extract) == SAMPLE_END_DATE


def test_nine_files_and_the_three_qa_files_with_exactly_the_contract_columns_and_the_manifest(
        sample_extract: Path) -> None:
    names = sorted(p.name for p in sample_extract.iterdir())
    assert names == sorted([t.file_name for t in EXTRACT_TABLES] + ["manifest.json"])
    for t in EXTRACT_TABLES:
        with open(sample_extract / t.file_name, encoding="utf-8", newline="") as f:
            header = f.readline()
        assert header == ",".join(t.column_names) + "\n", t.file_name
    manifest = json.loads((sample_extract / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == {"extracted_at": "2025-11-24T06:30:00", "source_system": "kpidash-sample"}


def test_every_row_keeps_the_contract_rules(extract) -> None:  # noqa: ANN001
    assert contract_problems(extract, SAMPLE_END_DATE) == []


def test_the_rule_checks_catch_broken_rows(extract) -> None:  # noqa: ANN001
    """The checker above can fail: break one row of each kind in a copy and it reports each."""
    extract.execute("CREATE TEMP TABLE workers_copy AS SELECT * FROM workers")
    try:
        extract.execute("UPDATE workers SET fte = '1.5' WHERE worker_id = (SELECT min(worker_id) FROM workers)")
        extract.execute("UPDATE workers SET role = 'wizard', end_date = '2031-01-01' WHERE worker_id = (SELECT max(worker_id) FROM workers)")
        extract.execute("INSERT INTO workers SELECT * FROM workers ORDER BY worker_id LIMIT 1 OFFSET 5")
        problems = contract_problems(extract, SAMPLE_END_DATE)
    finally:
        extract.execute("DELETE FROM workers")
        extract.execute("INSERT INTO workers SELECT * FROM workers_copy")
    assert "workers.csv fte: 1 rows outside 0 < value <= 1" in problems
    assert "workers.csv role: 1 rows not a valid code" in problems
    assert "workers.csv end_date: 1 rows after the end date" in problems
    assert "workers.csv worker_id: 1 repeated keys" in problems
    assert contract_problems(extract, SAMPLE_END_DATE) == []


def test_every_id_refers_to_a_row_of_its_file(extract) -> None:  # noqa: ANN001
    unknown = {
        "child": "SELECT child_id FROM referrals UNION SELECT child_id FROM assessments UNION SELECT child_id FROM s47_enquiries "
        "UNION SELECT child_id FROM episodes UNION SELECT child_id FROM allocations UNION SELECT child_id FROM missing_episodes "
        "EXCEPT SELECT child_id FROM children",
        "team": "SELECT team_id FROM workers UNION SELECT team_id FROM referrals UNION SELECT team_id FROM assessments "
        "UNION SELECT team_id FROM s47_enquiries UNION SELECT team_id FROM episodes UNION SELECT team_id FROM missing_episodes "
        "EXCEPT SELECT team_id FROM teams",
        "worker": "SELECT worker_id FROM referrals UNION SELECT worker_id FROM assessments UNION SELECT worker_id FROM s47_enquiries "
        "UNION SELECT worker_id FROM allocations EXCEPT SELECT worker_id FROM workers",
        "referral": "SELECT referral_id FROM assessments EXCEPT SELECT referral_id FROM referrals",
    }
    for what, sql in unknown.items():
        values = [v for (v,) in extract.execute(sql).fetchall() if v is not None]
        assert values == [], f"{what} ids that no file holds: {values[:5]}"
    # children.csv holds only children known to social care: each is referenced somewhere
    orphans = extract.execute(
        "SELECT count(*) FROM children WHERE child_id NOT IN (SELECT child_id FROM referrals UNION SELECT child_id FROM episodes "
        "UNION SELECT child_id FROM missing_episodes)"
    ).fetchone()[0]
    assert orphans == 0


def test_ids_are_prefixed_zero_padded_strings(extract) -> None:  # noqa: ANN001
    patterns = {
        ("teams", "team_id"): "T[0-9]{2}",
        ("workers", "worker_id"): "W[0-9]{4}",
        ("children", "child_id"): "C[0-9]{6}",
        ("referrals", "referral_id"): "R[0-9]{7}",
        ("episodes", "episode_id"): "E[0-9]{7}",
    }
    for (table, column), pattern in patterns.items():
        bad = extract.execute(f"SELECT count(*) FROM {table} WHERE NOT regexp_full_match({column}, '{pattern}')").fetchone()[0]
        assert bad == 0, (table, column)


def test_history_is_three_full_years_ending_on_the_end_date(extract) -> None:  # noqa: ANN001
    first, last = extract.execute("SELECT min(referral_date), max(referral_date) FROM referrals").fetchone()
    assert (first, last) == ("2022-11-24", "2025-11-23")
    # cases open on the first day of the history keep their real (earlier) start dates
    assert extract.execute("SELECT min(start_date) FROM episodes").fetchone()[0] < "2020-01-01"


def test_same_seed_scale_and_end_date_give_byte_identical_files(sample_extract: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_sample(again, seed=1, scale=1.0, end_date=SAMPLE_END_DATE)
    for name in [t.file_name for t in TABLES] + ["manifest.json"]:
        assert (again / name).read_bytes() == (sample_extract / name).read_bytes(), name


def test_another_seed_gives_another_trust(tmp_path: Path) -> None:
    a = generate_sample(tmp_path / "a", seed=1, scale=0.1, end_date=SAMPLE_END_DATE)
    b = generate_sample(tmp_path / "b", seed=2, scale=0.1, end_date=SAMPLE_END_DATE)
    assert (tmp_path / "a" / "referrals.csv").read_bytes() != (tmp_path / "b" / "referrals.csv").read_bytes()
    assert a.rows["teams.csv"] == b.rows["teams.csv"] == 7  # one team of each kind at a tenth of the size


def test_scale_two_is_about_twice_the_rows(sample_extract: Path, tmp_path: Path) -> None:
    double = generate_sample(tmp_path / "x2", seed=1, scale=2.0, end_date=SAMPLE_END_DATE)
    con = open_extract(tmp_path / "x2")
    assert contract_problems(con, SAMPLE_END_DATE) == []
    single = {t.file_name: _data_rows(sample_extract / t.file_name) for t in TABLES}
    assert double.rows["teams.csv"] == 2 * single["teams.csv"]
    for name in ("workers.csv", "children.csv", "referrals.csv", "assessments.csv", "episodes.csv", "allocations.csv", "missing_episodes.csv"):
        assert 1.7 <= double.rows[name] / single[name] <= 2.3, name


def test_a_tiny_trust_still_keeps_every_rule(tmp_path: Path) -> None:
    summary = generate_sample(tmp_path / "tiny", seed=5, scale=0.02, end_date=dt.date(2024, 2, 29))
    assert summary.rows["teams.csv"] == 7 and summary.rows["referrals.csv"] > 0
    assert contract_problems(open_extract(tmp_path / "tiny"), dt.date(2024, 2, 29)) == []


def test_summary_counts_the_rows_written(sample_extract: Path, tmp_path: Path) -> None:
    summary = generate_sample(tmp_path / "s", seed=3, scale=0.05, end_date=SAMPLE_END_DATE)
    assert isinstance(summary, SampleSummary)
    assert list(summary.rows) == [t.file_name for t in EXTRACT_TABLES]
    for name, n in summary.rows.items():
        assert n == _data_rows(tmp_path / "s" / name), name
    assert summary.total_rows == sum(summary.rows.values())
    assert (summary.seed, summary.scale, summary.end_date) == (3, 0.05, SAMPLE_END_DATE)


def test_end_date_defaults_to_yesterday(tmp_path: Path) -> None:
    summary = generate_sample(tmp_path / "y", scale=0.02)
    assert summary.end_date == dt.date.today() - dt.timedelta(days=1)
    manifest = json.loads((tmp_path / "y" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["extracted_at"] == f"{dt.date.today().isoformat()}T06:30:00"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0}, "scale must be from 0.01 to 100"),
        ({"scale": -1.5}, "scale must be from 0.01 to 100"),
        ({"scale": 0.001}, "scale must be from 0.01 to 100"),
        ({"scale": 1000}, "scale must be from 0.01 to 100"),
        ({"scale": float("nan")}, "scale must be from 0.01 to 100"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"end_date": dt.date(1900, 1, 1)}, "out of range"),
    ],
)
def test_bad_arguments_are_refused_with_a_plain_message(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_sample(tmp_path / "bad", **kwargs)
    assert not (tmp_path / "bad").exists()


def test_a_file_in_place_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    with pytest.raises(ValueError, match="is a file"):
        generate_sample(tmp_path / "taken", scale=0.02)


def _data_rows(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for _ in f) - 1
