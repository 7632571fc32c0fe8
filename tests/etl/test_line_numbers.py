"""Line numbers are the file's physical lines, as an analyst sees them in a text editor (header = 1).

Rows holding quoted line breaks, blank lines, Windows line ends, a byte-order mark and rows with the
wrong number of values must not shift the numbers of the rows after them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_builder import build_extract

from etl import load_extract, run_issues

HEADER = "team_id,team_name,service"
EMPTY_NAME = "is empty (a value is required)"
pytestmark = pytest.mark.usefixtures("shared_data", "permissive")  # each looks at its own run's rejects

FOUR_VALUES = "has 4 values but the header has 3 columns (a missing or extra comma, or a value with a comma that is not in quotes)"


def _team_issues(tmp_path: Path, content: str | bytes) -> list[tuple]:
    build_extract(tmp_path / "x", raw={"teams.csv": content})
    result = load_extract(tmp_path / "x", publish=False)
    assert result.status == "checked", result.message
    return [(i.line, i.column, i.value, i.reason) for i in run_issues(result.run_id) if i.file == "teams.csv"]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (f"{HEADER}\nT1,A,S\nT2,,S\n", 3),  # the plain case
        (f"{HEADER}\nT1,A,S\nT2,,S", 3),  # no line break at the end
        (f"{HEADER}\r\nT1,A,S\r\nT2,,S\r\n", 3),  # Windows line ends
        (f"\ufeff{HEADER}\r\nT1,A,S\r\nT2,,S\r\n", 3),  # byte-order mark (Excel's "CSV UTF-8")
        (f'{HEADER}\nT1,"Team\nOne",S\nT2,,S\n', 4),  # a quoted line break in the row before
        (f'{HEADER}\r\nT1,"Team\r\nOne\r\nTwo",S\r\nT2,,S\r\n', 5),  # two, with Windows line ends
        (f'{HEADER}\nT1,"Say ""hi""\nthen go",S\nT2,,S\n', 4),  # doubled quotes inside a quoted value
        (f"{HEADER}\nT1,A,S\n\nT2,,S\n", 4),  # a blank line (the reader skips it; the editor counts it)
        (f"{HEADER}\n\n\nT1,A,S\n\nT2,,S\n\n", 6),
        (f'{HEADER}\nT1,"A",S\n\nT3,"x\n\ny",S\nT2,,S\n', 7),  # blank line, then a value holding one
    ],
    ids=["plain", "no-final-newline", "crlf", "bom", "quoted-newline", "quoted-crlf", "doubled-quotes",
         "blank-line", "blank-lines", "blank-and-quoted"],
)
def test_the_rejected_row_is_numbered_as_an_editor_shows_it(tmp_path: Path, content: str, line: int) -> None:
    assert _team_issues(tmp_path, content) == [(line, "team_name", None, EMPTY_NAME)]


def test_a_row_with_the_wrong_number_of_values_is_rejected_on_its_own_line(tmp_path: Path) -> None:
    content = f'{HEADER}\nT1,"Team\nOne",S\nT2,B,S,extra\n\nT3,C\nT4,,S\nT5,"E\n",S,x\n'
    assert _team_issues(tmp_path, content) == [
        (4, None, "T2,B,S,extra", FOUR_VALUES),
        (6, None, "T3,C", FOUR_VALUES.replace("has 4 values", "has 2 values")),
        (7, "team_name", None, EMPTY_NAME),
        (8, None, 'T5,"E\n",S,x', FOUR_VALUES),
    ]


def test_a_row_with_the_wrong_number_of_values_counts_as_read_and_rejected(tmp_path: Path) -> None:
    build_extract(tmp_path / "x", raw={"teams.csv": f"{HEADER}\nT1,A,S\nT2,B,S,extra\n"})
    result = load_extract(tmp_path / "x")
    teams = next(f for f in result.files if f.file == "teams.csv")
    assert (teams.rows_read, teams.rows_loaded, teams.rows_rejected) == (2, 1, 1)


def test_values_with_line_breaks_are_loaded_as_written(tmp_path: Path) -> None:
    build_extract(tmp_path / "x", raw={"teams.csv": f'{HEADER}\r\nT1,"Team\r\nOne",S\r\n'})
    result = load_extract(tmp_path / "x")
    assert result.status == "published"
    import duckdb

    from core.settings import get_settings

    with duckdb.connect(str(get_settings().db), read_only=True) as con:
        assert con.execute("SELECT team_name FROM teams").fetchall() == [("Team\r\nOne",)]


def _refusal(tmp_path: Path, teams: str) -> str:
    """Why a load whose teams.csv holds `teams` failed (it must fail)."""
    build_extract(tmp_path / "x", raw={"teams.csv": teams})
    result = load_extract(tmp_path / "x")
    assert result.status == "failed" and result.message.startswith("the extract cannot be loaded: "), result.message
    return result.message.removeprefix("the extract cannot be loaded: ")


def test_an_unclosed_quote_fails_the_file_at_its_line(tmp_path: Path) -> None:
    assert _refusal(tmp_path, f'{HEADER}\nT1,A,S\nT2,"Team Two,S\nT3,C,S\n') == (
        "teams.csv line 3 has a quote (\") that is not closed, or a stray quote inside a value; the rest of the file "
        "cannot be read reliably"
    )


def test_a_row_too_long_for_the_csv_reader_fails_the_file_not_vanishes(tmp_path: Path) -> None:
    # DuckDB skips a line over its buffer (about 32 MB) without listing it: the row would be counted nowhere
    assert _refusal(tmp_path, f"{HEADER}\nT1,A,S\nT2,{'x' * 40_000_000},S\nT3,C,S\n") == (
        "teams.csv: 1 of its rows could not be read, and the CSV reader cannot say which; its longest line, line 3 "
        "(40.0 MB), is probably longer than it accepts"
    )


def test_mixed_line_ends_fail_the_file_with_a_reason(tmp_path: Path) -> None:
    assert _refusal(tmp_path, f"{HEADER}\nT1,A,S\r\nT2,B,S\n") == (
        "teams.csv mixes Windows (CR LF) and Unix (LF) line ends; save it again as CSV so that every line ends the "
        "same way"
    )


def test_line_breaks_inside_quotes_may_differ_from_the_line_ends(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8": rows end CR LF, a line break inside a cell is a bare LF."""
    assert _team_issues(tmp_path, f'{HEADER}\r\nT1,"Team\nOne",S\r\nT2,,S\r\n') == [(4, "team_name", None, EMPTY_NAME)]


def test_old_mac_line_ends_load_with_a_note_that_lines_are_counted_as_rows(tmp_path: Path) -> None:
    """Bare CR line ends: the reader splits rows on them, the raw-line pass cannot; rows are numbered in
    order (which is also what an editor shows, as no row spans lines) and the file says so."""
    assert _team_issues(tmp_path, f"{HEADER}\rT1,A,S\rT2,,S\r") == [
        (None, None, None, "has line breaks the loader could not follow; its line numbers count rows, not lines"),
        (3, "team_name", None, EMPTY_NAME),
    ]
