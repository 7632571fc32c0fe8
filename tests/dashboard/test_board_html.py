"""The board's loop in the book: the actions table and the "since the last board" line agree on what
closed since the last board (a board audit found the table judging by closing date against the board
date, and the line by the last pack, so each listed actions the other did not)."""

from __future__ import annotations

from dashboard.components.board_html import board_html


def _action(number: int, status: str, closed_at: str | None = None) -> dict:
    return {"id": number, "kpi": "referrals", "level": "trust", "unit": "trust", "what": f"Action {number}",
            "owner": "A. Owner", "due_date": "2026-12-01", "status": status, "status_note": None,
            "overdue": False, "closed_at": closed_at}


def test_the_table_shows_what_the_since_line_calls_closed_since_the_last_board() -> None:
    # the last board's pack (board date 3 Dec, published earlier) had 3 open and 4 and 5 already closed
    previous = {"id": 1, "board_date": "2026-12-03",
                "actions": [_action(3, "open"), _action(4, "done", "2026-11-20"), _action(5, "dropped", "2026-11-21")]}
    # now: 3 closed before the board's date (after its pack), 4 and 5 as they were, 6 agreed and closed since
    now = [_action(3, "done", "2026-12-01T10:00:00"), _action(4, "done", "2026-11-20"),
           _action(5, "dropped", "2026-11-21"), _action(6, "done", "2026-12-05"), _action(7, "open")]
    html = board_html("referrals", {}, {"referrals": now}, previous)
    table = html.split("<table", 1)[1].split("</table>", 1)[0]
    rows = {n for n in range(3, 8) if f"<td>{n}</td>" in table}
    assert rows == {3, 6, 7}  # 3: closed since (open in the last pack); 4, 5: closed before it
    assert "1 closed: No. 3 done" in html and "2 new: No. 6 Action 6; No. 7 Action 7" in html
    first = board_html("referrals", {}, {"referrals": now}, None)  # no earlier pack: every action
    assert {n for n in range(3, 8) if f"<td>{n}</td>" in first} == {3, 4, 5, 6, 7}


class _Packs:
    """The one call _previous_pack makes of the API client: a published pack's snapshot."""

    def pack_snapshot(self, pack_id: int) -> dict:
        return {"actions": [{"id": pack_id}]}


def test_a_books_last_board_is_one_held_not_one_published_ahead_of_its_date() -> None:
    import datetime as dt

    from dashboard.book import _previous_pack

    today = dt.date.today()
    packs = [{"id": 1, "board_date": (today - dt.timedelta(days=14)).isoformat()},
             {"id": 2, "board_date": (today + dt.timedelta(days=4)).isoformat()}]  # published ahead of its board
    assert _previous_pack(_Packs(), packs, None)["id"] == 1  # a book drawn today: the board held last
    assert _previous_pack(_Packs(), packs, today + dt.timedelta(days=18))["id"] == 2  # a later board's pack
    assert _previous_pack(_Packs(), packs, today - dt.timedelta(days=14)) is None  # none before the first
