"""The view in the address: a page writes its choices into the query string, so that a reload, a bookmark
or a link shows the same view, and writes the same string as the view on screen (the `shown-search`
store), which tells the router (dashboard/app.py) to leave the page as it is: the picker keeps what was
typed into it and the figures are not fetched a second time."""

from __future__ import annotations

from dash import Output, html

from dashboard.components.formatting import page_search


def address_outputs() -> tuple[Output, Output]:
    """The outputs of a page's callback that writes its view into the address (new ones per callback)."""
    return Output("url", "search", allow_duplicate=True), Output("shown-search", "data", allow_duplicate=True)


def in_address(params: dict[str, str | None]) -> tuple[str, str]:
    """The query string of these choices, for both address_outputs."""
    search = page_search(params)
    return search, search


def not_shown(asked: list[str]) -> html.P | None:
    """What the address asked for that the page cannot show (a mistyped team, a month outside its list): the
    page opens on its usual view, and says so rather than change the view without a word (a dashboard audit)."""
    if not asked:
        return None
    return html.P([html.Strong("Not shown: "), "the address asks for " + " and ".join(asked) + ", which is not "
                   "among the choices below (mistyped, or outside your scope or the months kept); this is the page's "
                   "usual view instead."], className="state state-refused", role="note", id="address-not-shown")


def scope_words(scope: str) -> str:
    """A scope from the address as it was asked for: "team T99", "service Nope"."""
    level, _, unit = scope.partition(":")
    return f"{level} {unit!r}" if unit else level
