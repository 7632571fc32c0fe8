"""The Dash app: a shell (header, navigation, the records dialog) and a router that shows nothing
with data until the API says who is signed in. Served by FastAPI at `/` (api/app.py mounts it)."""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from typing import Any

import flask
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import DependencyException, PreventUpdate

from core.settings import get_settings
from dashboard import auth
from dashboard.api_client import ApiClient, ApiProblem, problem_words
from dashboard.book import BookMonthError, book_html
from dashboard.components import address, banner, records_drawer
from dashboard.components.formatting import months_back
from dashboard.pages import admin, board, qa, sign_in, team, today, trends

log = logging.getLogger("kpidash.dashboard")
ASSETS = Path(__file__).parent / "assets"
NOT_OURS = '{"detail": "This is not a request the dashboard makes: reload the page."}'
# what a callback raises on values its page never sends (a date that is not one, a list for a text box)
BAD_VALUE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, StopIteration)
PAGES = {"/": today, "/today": today, "/team": team, "/trends": trends, "/qa": qa, "/board": board,
         "/admin": admin}
# The page's language (screen readers pronounce British English); the title follows each view (keyboard.js).
INDEX = """<!DOCTYPE html>
<html lang="en-GB">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""
NAV = (("/today", "Today"), ("/team", "Team"), ("/trends", "Trends"), ("/qa", "Quality assurance"),
       ("/board", "Board"))


def shell() -> html.Div:
    return html.Div([
        html.A("Skip to the figures", href="#page", className="skip-link"),
        # the address holds the view: a page writes its choices into it without a reload (refresh=False)
        dcc.Location(id="url", refresh=False),
        dcc.Location(id="redirect", refresh=True),
        dcc.Store(id="today-date"),
        dcc.Store(id="shown-search"),  # the query string of the view on screen (drawn by route, or written by its page)
        html.Header(className="topbar", children=[
            html.Div(className="brand", children=[html.Span("kpidash", className="brand-name"),
                                                 html.Span("Children's services performance", className="brand-sub")]),
            html.Nav(id="nav", **{"aria-label": "Pages"}),
            html.Div(id="user-box", className="user-box"),
        ]),
        html.Main(id="page", tabIndex="-1", children=html.P("Loading…", className="muted")),
        records_drawer.drawer(),
    ])


def _nav(pathname: str, role: str | None = None) -> list[Any]:
    """The pages, the current one marked; Admin for admins only."""
    current = "/today" if pathname == "/" else pathname
    pages = NAV + ((("/admin", "Admin"),) if role == "admin" else ())
    return [dcc.Link([label, html.Span(" (current page)", className="visually-hidden")] if href == current else label,
                     href=href, className="nav-link active" if href == current else "nav-link") for href, label in pages]


def create_dash_app(api_url: str | None = None) -> Dash:
    """The dashboard, calling the API at api_url (default: the api_url setting)."""
    settings = get_settings()
    api_url = api_url or settings.api_url
    app = Dash(__name__, title="kpidash", assets_folder=str(ASSETS), suppress_callback_exceptions=True,
               update_title=None, serve_locally=True)
    app.index_string = INDEX
    app.layout = shell()

    @app.callback(Output("page", "children"), Output("nav", "children"), Output("user-box", "children"),
                  Output("today-date", "data"), Output("shown-search", "data"), Input("url", "pathname"),
                  Input("url", "search"), State("shown-search", "data"))
    def route(pathname: str | None, search: str | None, shown: str | None) -> tuple:
        """The page for the address. Only the query string changed and it is the view on screen (the page wrote
        it as its picker changed): nothing to draw, so the picker stays as typed in and the figures are not fetched
        again. Any other query string (Back, Forward, a link) draws the page it names."""
        search = search or ""
        if set(ctx.triggered_prop_ids) == {"url.search"} and search == shown:
            raise PreventUpdate
        return (*_page(pathname or "/", search), search)

    def _page(pathname: str, search: str) -> tuple:
        user = auth.current_user(api_url)
        if user is None:
            return sign_in.layout(), [], [], None
        api = auth.client(api_url)
        box = [html.Span(f"{user['username']} · {user['role'].replace('_', ' ')}", className="user-name"),
               html.Button("Sign out", id="sign-out", className="btn btn-quiet", n_clicks=0)]
        page = PAGES.get(pathname)
        if page is None:
            return (html.Div([html.H1("Page not found"), html.P(["There is no page ", html.Code(pathname),
                    ". ", dcc.Link("Go to Today", href="/today")])]), _nav(pathname, user["role"]), box, None)
        try:
            status = api.status()
        except ApiProblem as exc:
            return error_state(exc), _nav(pathname, user["role"]), box, None
        # the freshness banner on every page: how old these figures are is part of reading any of them
        return (html.Div([banner.freshness_banner(status), page.layout(api, user, status, search)]),
                _nav(pathname, user["role"]), box, status.get("extract_date"))

    @app.callback(Output("redirect", "href"), Output("signin-message", "children"),
                  Input("signin-button", "n_clicks"), Input("signin-password", "n_submit"),
                  State("signin-username", "value"), State("signin-password", "value"), prevent_initial_call=True)
    def sign_in_submit(clicks: int, submits: int, username: str | None, password: str | None) -> tuple:
        if not (clicks or submits):  # the form has just been drawn: nothing was asked yet, so no error
            return no_update, no_update
        if not username or not password:
            return no_update, "Enter your username and your password."
        try:
            session = ApiClient(api_url).login(username.strip(), password)
        except ApiProblem as exc:
            return no_update, exc.message
        auth.start_session(session.token, settings.session_hours, flask.request.scheme == "https")
        # each role starts where it works: an admin's day is the load log, the rejects and the users
        return ("/admin" if session.user.get("role") == "admin" else "/today"), ""

    @app.callback(Output("redirect", "href", allow_duplicate=True), Input("sign-out", "n_clicks"),
                  prevent_initial_call=True)
    def sign_out(n: int) -> str:
        if not n:
            return no_update
        try:
            auth.client(api_url).logout()
        except ApiProblem:
            pass  # already ended: signing out again is the same
        auth.end_session()
        return "/"

    address.register(app)  # the note about an address a page could not show
    today.register(app, api_url)
    team.register(app, api_url)
    trends.register(app, api_url)
    records_drawer.register(app, api_url)
    qa.register(app, api_url)
    board.register(app, api_url)  # the board's loop: analysis, actions, packs
    admin.register(app, api_url)

    @app.server.before_request
    def not_an_api_path() -> flask.Response | None:
        """An unknown /api/ address is a JSON 404, as the API answers, not the dashboard's page; a callback
        request that is not one of this dashboard's callbacks is a 400, not a crash in Dash (a 500)."""
        if flask.request.path.startswith("/api/"):
            return flask.Response('{"detail": "Not Found: there is no such API endpoint (see /api/docs)."}', status=404,
                                  mimetype="application/json")
        if flask.request.path == "/_dash-update-component" and flask.request.method == "POST":
            body = flask.request.get_json(silent=True)
            if not (isinstance(body, dict) and isinstance(body.get("inputs"), list)
                    and isinstance(body.get("output"), str) and body["output"] in app.callback_map
                    # one output is an object, several a list (Dash reads them so), as is one whose pattern id
                    # matches any number of components (ALL: the address note's)
                    and isinstance(body.get("outputs"), list if body["output"].startswith("..")
                                   or '["ALL"]' in body["output"] else dict)
                    and len(body["inputs"]) == len(app.callback_map[body["output"]]["inputs"])
                    and len(body.get("state") or []) == len(app.callback_map[body["output"]]["state"])):
                return flask.Response(NOT_OURS, status=400, mimetype="application/json")
        return None

    def a_callback_refused_its_values(exc: Exception) -> flask.Response:
        """A callback of the right shape whose values its page never sends (a crafted request) is a 400 like
        one of the wrong shape, logged in one line (the traceback at DEBUG), not a 500 with a traceback."""
        if flask.request.path != "/_dash-update-component":
            raise exc
        body = flask.request.get_json(silent=True)
        log.warning("a dashboard callback (%s) refused the values it was sent: %s: %s",
                    body.get("output") if isinstance(body, dict) else "?", type(exc).__name__, exc,
                    exc_info=log.isEnabledFor(logging.DEBUG))
        return flask.Response(NOT_OURS, status=400, mimetype="application/json")

    for error in BAD_VALUE_ERRORS:
        app.server.register_error_handler(error, a_callback_refused_its_values)

    @app.server.errorhandler(DependencyException)
    def no_such_component_file(_exc: DependencyException) -> flask.Response:
        """A script or style Dash does not serve (a wrong name or version): a plain 404, not a 500."""
        return flask.Response("Not Found", status=404, mimetype="text/plain")

    @app.server.route("/book")
    def book() -> flask.Response:
        api = auth.client(api_url)
        if not api.token:
            return flask.redirect("/")
        try:
            status = api.status()
            month = flask.request.args.get("month") or months_back(_date(status["extract_date"]), 1)[0]
            return flask.Response(book_html(api, month), mimetype="text/html")
        except (ApiProblem, ValueError) as exc:
            message = (exc.message if isinstance(exc, ApiProblem) else f"{exc}." if isinstance(exc, BookMonthError)
                       else "The month must be written YYYY-MM, e.g. 2025-10.")
            return flask.Response(f"<!doctype html><title>Performance book</title><p>{escape(message)}</p>", status=422,
                                  mimetype="text/html")

    @app.server.route("/qa-page")
    def qa_on_a_page() -> flask.Response:
        return qa_page_response(auth.client(api_url), flask.request.args)

    return app


def _date(text: str):  # noqa: ANN202
    import datetime as dt

    return dt.date.fromisoformat(text)


def qa_page_response(api: ApiClient, args: Any) -> flask.Response:
    """QA on a Page for ?month=YYYY-MM&level=&unit=&format=html|pdf, from the API; a clear page when it cannot."""
    from dashboard.components.qa_html import page_file_name, qa_page_html
    from dashboard.print_pdf import PdfUnavailable, html_to_pdf

    if not api.token:
        return flask.redirect("/")
    level, unit, fmt = args.get("level", "trust"), args.get("unit") or None, args.get("format", "html")
    try:
        month = args.get("month") or months_back(_date(api.status()["extract_date"]), 1)[0]
        page = qa_page_html(api.qa_page(month, level, unit))
    except ApiProblem as exc:
        return flask.Response(f"<!doctype html><title>QA on a Page</title><p>{escape(exc.message)}</p>",
                              status=exc.status if 400 <= exc.status < 500 else 503, mimetype="text/html")
    if fmt != "pdf":
        return flask.Response(page, mimetype="text/html")
    try:
        pdf = html_to_pdf(page)
    except PdfUnavailable as exc:
        return flask.Response(f"<!doctype html><title>QA on a Page</title><p>{escape(str(exc))}</p>", status=503,
                              mimetype="text/html")
    name = page_file_name(month, level, unit, ".pdf")
    return flask.Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def error_state(exc: ApiProblem) -> html.Div:
    """What happened and what to do, in place of the page."""
    return html.Div(className="state state-error", role="alert", children=[
        html.H2("The figures could not be shown"), html.P(problem_words("Nothing could be read", exc))])
