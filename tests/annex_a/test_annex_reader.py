"""Tolerant reading of a hand-made Annex A workbook with the quirks real exporters write."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from etl.annex_a.mapping import convert_workbook, mapping_issues
from etl.annex_a.reader import AnnexAError, normalise_header
from tests.annex_a.conftest import write_workbook

NBSP = "\u00a0"
LIST3 = [
    ["Annex A - List 3: Referrals (fictional test data)"],  # a title row above the header
    ["CHILD UNIQUE ID", "Gender", "Ethnicity", f"Date of{NBSP}Birth", "Age of Child (Years)", "date of referral",
     "Referral Source", "Referral NFA?", "Allocated  Team", "Allocated Worker", "Something Else"],
    ["C001", "a) Male", "a) WBRI", dt.date(2015, 1, 2), ("formula", "=5+5", 10), dt.date(2025, 3, 3),
     "q) 6: Police", "b) No", f"Duty{NBSP}Team", f"Ann{NBSP}Example", "x"],
    [1002, "b) Female", "k) APKN", None, None, "14/03/2025", "b) 1B: Individual", "a) Yes", "#N/A", "#N/A"],
    ["C003", "z) Other", None, None, None, ("number_as_date", 45748), None, "NFA maybe", "duty team", "Ann Example"],
    ["C004", "a) Male", None, None, None, "31/02/2025", None, "No", "Duty Team", None],
    [],
    [None, "a) Male", None, None, None, "01/04/2025"],
]
LIST4 = [
    ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age", "Does the Child have a Disability",
     "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation", "Allocated Team",
     "Allocated Worker"],
    ["C001", "Male", "WBRI", None, None, "b) No", ("number_as_date", 45748), ("formula", "=G2+10", 45758),
     "Duty Team", "Ann Example"],
]
LIST5 = [
    ["Child Unique ID", "Gender", "Strategy discussion initiating Section 47 Enquiry Start Date",
     "Was an Initial Child Protection Conference deemed unnecessary?", "Date of Initial Child Protection Conference",
     "Allocated Team", "Allocated Worker"],
    ["C001", "a) Male", "2025-03-20", "No", "02/04/2025", "Duty Team", "Ann Example"],
    ["1002", "b) Female", dt.date(2025, 3, 21), "Yes", None, "Duty Team", "Ben Sample"],
]


def _csv(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def converted(tmp_path: Path):
    book = write_workbook(tmp_path / "annex.xlsx", {"List 3": LIST3, "List 4": LIST4, "List 5": LIST5})
    return convert_workbook(book, tmp_path / "extract")


def test_header_folding():
    assert normalise_header(f"  Allocated{NBSP} TEAM ") == "allocated team"
    assert normalise_header("Referral NFA?") == "referral nfa"
    assert normalise_header("Number of Episodes the Child has been \u2018Missing\u2019") == (
        "number of episodes the child has been 'missing'"
    )


def test_referrals_read_through_the_quirks(converted):
    rows = _csv(converted.folder, "referrals")
    assert [(r["child_id"], r["referral_date"], r["nfa"], r["source"]) for r in rows] == [
        ("C001", "2025-03-03", "N", "6"),  # Excel date cell, "b) No"; "q) 6: Police" is DfE code 6
        ("1002", "2025-03-14", "Y", "1B"),  # number id, dd/mm/yyyy text
        ("C003", "2025-04-01", "", ""),  # an Excel serial number; an unreadable NFA is left empty
    ]
    teams = _csv(converted.folder, "teams")
    # "Duty Team", "Duty\u00a0Team" and "duty team" are one team; "#N/A" is no team
    assert [t["team_name"] for t in teams] == ["Duty Team"]
    assert rows[0]["team_id"] == rows[2]["team_id"] == teams[0]["team_id"]
    assert rows[1]["team_id"] == "" and rows[1]["worker_id"] == ""
    workers = {w["worker_name"]: w for w in _csv(converted.folder, "workers")}
    assert set(workers) == {"Ann Example", "Ben Sample"}
    assert workers["Ann Example"]["worker_id"] == rows[0]["worker_id"] == rows[2]["worker_id"]


def test_ids_are_stable_from_one_workbook_to_the_next(tmp_path: Path, converted):
    other = write_workbook(tmp_path / "other.xlsx", {"List 5": LIST5})
    again = convert_workbook(other, tmp_path / "again")
    assert {t["team_id"] for t in _csv(again.folder, "teams")} == {t["team_id"] for t in _csv(converted.folder, "teams")}


def test_children_take_their_first_known_details(converted):
    children = {c["child_id"]: c for c in _csv(converted.folder, "children")}
    assert set(children) == {"C001", "1002", "C003"}  # C004's only row was not loaded
    assert children["C001"] == {"child_id": "C001", "date_of_birth": "2015-01-02", "gender": "M",
                                "ethnicity": "WBRI", "disability": "N"}
    assert children["C003"]["gender"] == ""


def test_formula_cached_value_and_assessment_dates(converted):
    [row] = _csv(converted.folder, "assessments")
    assert (row["start_date"], row["authorised_date"]) == ("2025-04-01", "2025-04-11")


def test_icpc_deemed_unnecessary_is_icpc_required_no(converted):
    rows = _csv(converted.folder, "s47_enquiries")
    assert [(r["child_id"], r["icpc_required"], r["icpc_date"]) for r in rows] == [
        ("C001", "Y", "2025-04-02"), ("1002", "N", ""),
    ]
    assert converted.extracted_at == dt.datetime(2025, 4, 11)  # the latest event date in the workbook


def test_problems_are_reported_per_list_row_and_column(converted):
    found = {(i.file, i.line, i.column, i.value, i.severity) for i in mapping_issues(converted.issues_path)}
    assert ("Annex A List 3", None, "Something Else", None, "warning") in found
    assert ("Annex A List 3", 4, "Allocated  Team", "#N/A", "warning") in found
    assert ("Annex A List 3", 5, "Gender", "z) Other", "warning") in found
    assert ("Annex A List 3", 5, "Referral NFA?", "NFA maybe", "warning") in found
    assert ("Annex A List 3", 6, "date of referral", "31/02/2025", "reject") in found
    assert ("Annex A List 3", 8, "CHILD UNIQUE ID", None, "reject") in found
    assert ("Annex A List 6", None, None, None, "warning") in found  # not in the workbook
    assert not any(line == 7 for _, line, *_ in found)  # a blank row is no problem


def test_a_file_that_is_not_a_workbook(tmp_path: Path):
    bad = tmp_path / "annex.xlsx"
    bad.write_text("Child Unique ID,Gender\n1,M\n")
    with pytest.raises(AnnexAError, match="cannot be read as an Excel workbook"):
        convert_workbook(bad, tmp_path / "out")


def test_a_workbook_without_lists(tmp_path: Path):
    book = write_workbook(tmp_path / "annex.xlsx", {"Sheet1": [["a", "b"]]}, complete=False)
    with pytest.raises(AnnexAError, match="none of the sheets List 3 to List 9"):
        convert_workbook(book, tmp_path / "out")


def test_one_worker_name_in_two_teams_is_one_worker_with_a_warning(tmp_path: Path):
    # Ann Example holds a referral in Duty Team and another in Team B (hand-made): Annex A has no
    # worker ids, so she is one worker, placed in Duty Team (two of her three rows), and the analyst is told.
    header = ["Child Unique ID", "Date of Referral", "Allocated Team", "Allocated Worker"]
    rows = [header, ["C1", "01/03/2025", "Duty Team", "Ann Example"], ["C2", "02/03/2025", "duty team", "ann example"],
            ["C3", "03/03/2025", "Team B", "Ann Example"], ["C4", "04/03/2025", "Team B", "Ben Sample"]]
    done = convert_workbook(write_workbook(tmp_path / "annex.xlsx", {"List 3": rows}), tmp_path / "out")
    workers = _csv(done.folder, "workers")
    teams = {t["team_id"]: t["team_name"] for t in _csv(done.folder, "teams")}
    assert sorted((w["worker_name"], teams[w["team_id"]]) for w in workers) == [
        ("Ann Example", "Duty Team"), ("Ben Sample", "Team B")]
    [warning] = [i for i in mapping_issues(done.issues_path) if i.file == "Annex A"]
    assert (warning.column, warning.value, warning.severity) == ("Allocated Worker", "Ann Example", "warning")
    assert "in 2 teams (Duty Team, Team B)" in warning.reason


NO_VALUE = "is an error value or N/A: taken as empty (no value); if the cell should hold one, correct it and load again"


def test_excel_error_cells_are_reported_where_they_are(tmp_path: Path):
    # a VLOOKUP that failed leaves an error cell (not the text "#N/A"): reported at its row, taken as empty
    rows = [["Child Unique ID", "Date of Referral", "Allocated Team"],
            ["C1", "01/03/2025", ("formula", "=NA()", "#N/A")],
            [("formula", "=1/0", "#DIV/0!"), "02/03/2025", "Duty Team"]]
    done = convert_workbook(write_workbook(tmp_path / "annex.xlsx", {"List 3": rows}), tmp_path / "out")
    found = [(i.line, i.column, i.value, i.reason) for i in mapping_issues(done.issues_path) if i.line is not None
             and "extract date" not in i.reason]
    assert found == [
        (2, "Allocated Team", "#N/A", NO_VALUE),
        (3, "Child Unique ID", "#DIV/0!", NO_VALUE),
        (3, "Child Unique ID", None, "is empty; the row is not loaded"),
    ]
    assert [r["child_id"] for r in _csv(done.folder, "referrals")] == ["C1"]


def test_an_excel_error_in_a_figures_date_rejects_its_row_and_n_a_typed_is_no_date(tmp_path: Path):
    """An audit: "#N/A" in List 4's Date of Authorisation was taken as empty, so an assessment whose date could
    not be read loaded as open (and overdue). An Excel error value there now rejects its row, as any unreadable
    figure date does; "n/a" typed says "none", an empty date, with a warning."""
    list4 = [["Child Unique ID", "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"],
             ["C1", "01/03/2025", ("formula", "=NA()", "#N/A")], ["C2", "02/03/2025", "n/a"],
             ["C3", "03/03/2025", "20/03/2025"], ["C4", "04/03/2025", None]]
    done = convert_workbook(write_workbook(tmp_path / "annex.xlsx", {"List 3": LIST3, "List 4": list4}), tmp_path / "o")
    found = [(i.line, i.value, i.reason, i.severity) for i in mapping_issues(done.issues_path)
             if i.file == "Annex A List 4" and i.line is not None and "extract date" not in i.reason]
    assert found == [(2, "#N/A", "is an Excel error value; the row is not loaded", "reject"),
                     (3, "n/a", "is N/A: taken as empty (no value)", "warning")]
    assessments = _csv(done.folder, "assessments")
    assert [(a["child_id"], a["authorised_date"]) for a in assessments] == [("C2", ""), ("C3", "2025-03-20"),
                                                                            ("C4", "")]


def test_a_list_whose_figures_cannot_be_counted_refuses_the_workbook(tmp_path: Path):
    # no List 5 at all, and List 4 headed with a date kpidash does not know: s47 figures and completed
    # assessments would be 0 (and every assessment open), not unknown
    list4 = [["Child Unique ID", "Continuous Assessment Start Date", "Continuous Assessment Completion Date"],
             ["C1", "01/03/2025", "20/03/2025"]]
    book = write_workbook(tmp_path / "annex.xlsx", {"List 3": LIST3, "List 4": list4}, complete=False)
    with pytest.raises(AnnexAError) as refused:
        convert_workbook(book, tmp_path / "out")
    assert str(refused.value) == (
        'the workbook cannot give its figures, which would show as 0 rather than unknown: List 4 ("List 4") has no '
        'authorised date column (headed "continuous assessment date of authorisation" or "assessment date of '
        'authorisation", in any case); List 5 (section 47 enquiries and ICPCs) is not in it. Add the sheet (its '
        "header row alone if the list is empty) or head the column as Ofsted's template does, and load it again")


def test_two_sheets_of_one_list_refuse_the_workbook(tmp_path: Path):
    old = [["Child Unique ID", "Date of Referral"], ["C9", "01/03/2023"]]
    book = write_workbook(tmp_path / "annex.xlsx", {"List 3 (old)": old, "List 3": LIST3})
    with pytest.raises(AnnexAError, match=r'the sheets "List 3 \(old\)" and "List 3" are both Annex A List 3; keep'):
        convert_workbook(book, tmp_path / "out")


def test_an_unreadable_date_a_figure_is_counted_from_rejects_its_row(tmp_path: Path):
    # taken as empty, "pending" would make a completed assessment open, and overdue
    list4 = [["Child Unique ID", "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"],
             ["C1", "01/03/2025", "20/03/2025"], ["C2", "02/03/2025", "pending"], ["C3", "03/03/2025", None]]
    done = convert_workbook(write_workbook(tmp_path / "annex.xlsx", {"List 3": LIST3, "List 4": list4}),
                            tmp_path / "out")
    found = [(i.line, i.column, i.value, i.reason, i.severity) for i in mapping_issues(done.issues_path)
             if i.file == "Annex A List 4" and i.line is not None]
    assert found == [(3, "Continuous Assessment Date of Authorisation", "pending", "is not a date (expected an Excel "
                      "date, dd/mm/yyyy or yyyy-mm-dd); the row is not loaded", "reject")]
    assert [(r["child_id"], r["authorised_date"]) for r in _csv(done.folder, "assessments")] == [
        ("C1", "2025-03-20"), ("C3", "")]  # C3: not authorised yet, open


def test_where_the_extract_date_comes_from_is_a_warning(tmp_path: Path):
    # Annex A does not say when it was run: the latest date is taken, so a mistyped year would move every
    # view's default date; the analyst is shown which cell it came from
    list3 = [["Child Unique ID", "Date of Referral"], ["C1", "01/03/2025"], ["C2", "16/01/2205"], ["C3", "02/03/2025"]]
    done = convert_workbook(write_workbook(tmp_path / "annex.xlsx", {"List 3": list3}), tmp_path / "out")
    assert done.extracted_at == dt.datetime(2205, 1, 16)
    [said] = [i for i in mapping_issues(done.issues_path) if "extract date" in i.reason]
    assert (said.file, said.line, said.column, said.value, said.severity) == (
        "Annex A List 3", 3, "Date of Referral", "2205-01-16", "warning")
    assert said.reason == ("is the workbook's latest date, so it is taken as the extract date (Annex A does not say "
                           "when it was run); if it is mistyped, correct it and load again")


def test_a_column_of_values_without_a_header_is_said_not_lost_unseen(tmp_path: Path):
    """An audit merged two header cells, which blanks one (Referral Source): the column's values were dropped
    with no word. A column with values under no header is now a warning naming the column."""
    rows = [["Child Unique ID", "Date of Referral", None, "Allocated Team"],
            ["C1", "01/03/2025", "6: Police", "Duty Team"], ["C2", "02/03/2025", None, "Duty Team"]]
    blank = [["Child Unique ID", "Date of Referral", None], ["C1", "01/03/2025", None]]  # empty: nothing to say
    done = convert_workbook(write_workbook(tmp_path / "annex.xlsx", {"List 3": rows, "List 6": blank}),
                            tmp_path / "o")
    said = [(i.file, i.column, i.reason) for i in mapping_issues(done.issues_path) if "no header" in i.reason]
    assert said == [("Annex A List 3", "column C", "has values but no header (a blank or merged header cell?): they "
                     "are not loaded; give the column its header as Ofsted's template has it and load again")]
