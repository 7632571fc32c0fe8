"""`kpidash book`: the printable performance book as one offline HTML file, from the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("book")
    def book(
        month: Annotated[str, typer.Option(help="The month, YYYY-MM (the current month runs to the extract date).")],
        out: Annotated[Path, typer.Option(help="The HTML file to write.")],
        token: Annotated[str, typer.Option(help="An API token (`kpidash tokens create USER`).", prompt=True,
                                           hide_input=True)],
        api_url: Annotated[str | None, typer.Option(help="The API's address (default: KPIDASH_API_URL).")] = None,
    ) -> None:
        """Write the performance book for a month: each KPI's chart, last 12 months and definition."""
        from core.settings import get_settings
        from dashboard.api_client import ApiClient, ApiProblem, close_all
        from dashboard.book import book_html

        try:
            html = book_html(ApiClient(api_url or get_settings().api_url, token), month)
        except ApiProblem as exc:
            typer.echo(f"kpidash book: {exc.message}", err=True)
            raise typer.Exit(2) from None
        except ValueError:
            typer.echo(f"kpidash book: {month!r} is not a month up to the extract's: write it YYYY-MM, e.g. 2025-10.",
                       err=True)
            raise typer.Exit(2) from None
        finally:
            close_all()
        try:
            out.write_text(html, encoding="utf-8")
        except OSError as exc:
            typer.echo(f"kpidash book: cannot write {out}: {exc.strerror}.", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"Wrote the performance book for {month} to {out}.")
