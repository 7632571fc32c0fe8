"""Sign in: the only thing shown before the API knows who you are."""

from __future__ import annotations

from dash import html


def layout() -> html.Div:
    return html.Div(className="signin", children=html.Div(
        className="card signin-card", role="form", **{"aria-labelledby": "signin-title"},
        children=[
            html.H1("Sign in", id="signin-title"),
            html.P("Use the account your performance team gave you.", className="muted"),
            html.Label("Username", htmlFor="signin-username"),
            html.Div(_input("signin-username", "text", "username")),
            html.Label("Password", htmlFor="signin-password"),
            html.Div(_input("signin-password", "password", "current-password")),
            html.Button("Sign in", id="signin-button", className="btn btn-primary", n_clicks=0),
            html.P(id="signin-message", className="form-error", role="alert", **{"aria-live": "assertive"}),
        ],
    ))


def _input(id_: str, kind: str, autocomplete: str):  # noqa: ANN202
    from dash import dcc

    return dcc.Input(id=id_, type=kind, autoComplete=autocomplete, className="input", debounce=False, n_submit=0,
                     required=True)
