"""The view in the address: a page writes its choices into the query string, so that a reload, a bookmark
or a link shows the same view, and writes the same string as the view on screen (the `shown-search`
store), which tells the router (dashboard/app.py) to leave the page as it is: the picker keeps what was
typed into it and the figures are not fetched a second time."""

from __future__ import annotations

from typing import Any

from dash import ALL, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard.components.formatting import page_search

# not_shown's note, and the address of the view the page showed instead (pattern ids: a page without a note
# has neither, and the callback that clears it then has nothing to clear, not a missing component)
NOTE = {"kind": "address-note", "of": "page"}
NOTE_FOR = {"kind": "address-note-for", "of": "page"}


def address_outputs() -> tuple[Output, Output]:
    """The outputs of a page's callback that writes its view into the address (new ones per callback)."""
    return Output("url", "search", allow_duplicate=True), Output("shown-search", "data", allow_duplicate=True)


def in_address(params: dict[str, str | None]) -> tuple[str, str]:
    """The query string of these choices, for both address_outputs."""
    search = page_search(params)
    return search, search


def not_shown(asked: list[str], shown: dict[str, str | None]) -> html.Div | None:
    """What the address asked for that the page cannot show (a mistyped team, a month outside its list): the
    page opens on its usual view, and says so rather than change the view without a word (a dashboard audit).
    shown: the choices of the view shown instead, as the page writes them into the address; once a choice on
    the page writes another view there, the note goes (register)."""
    if not asked:
        return None
    note = html.P([html.Strong("Not shown: "), "the address asks for " + " and ".join(asked) + ", which is not "
                   "among the choices below (mistyped, or outside your scope or the months kept); this is the page's "
                   "usual view instead."], className="state state-refused", role="note", id="address-not-shown")
    return html.Div([html.Div(note, id=NOTE), dcc.Store(id=NOTE_FOR, data=page_search(shown))])


def register(app: Any) -> None:
    """The one callback, for every page, that takes not_shown's note away."""

    @app.callback(Output({**NOTE, "of": ALL}, "children"), Input("url", "search"), State("shown-search", "data"),
                  State({**NOTE_FOR, "of": ALL}, "data"), prevent_initial_call=True)
    def note_gone(search: str | None, shown: str | None, note_for: list[str]) -> list[None]:
        """The note about an address the page could not show stays while the address is the page's own
        writing of the view it showed instead, and goes once a choice on the page writes another (the page
        writes both the address and the view on screen; Back, Forward and links redraw the page instead)."""
        search = search or ""
        if not note_for or search != (shown or "") or search == note_for[0]:
            raise PreventUpdate
        return [None] * len(note_for)


def scope_words(scope: str) -> str:
    """A scope from the address as it was asked for: "team T99", "service Nope"."""
    level, _, unit = scope.partition(":")
    return f"{level} {unit!r}" if unit else level
