"""`kpidash book`: the printable performance book as one offline HTML file, from the API; `kpidash qa-page`:
QA on a Page (HTML or PDF) for a month and the trust, a service or a team, from the published warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import USAGE, fail, month_option


def register(app: typer.Typer) -> None:
    @app.command("book")
    def book(
        month: Annotated[str, typer.Option(parser=month_option, metavar="YYYY-MM",
                                           help="The month (the current month runs to the extract date).")],
        out: Annotated[Path, typer.Option(help="The HTML file to write.")],
        token: Annotated[str, typer.Option(help="An API token (`kpidash tokens create USER`).", prompt=True,
                                           hide_input=True)],
        api_url: Annotated[str | None, typer.Option(help="The API's address (default: KPIDASH_API_URL).")] = None,
        publish: Annotated[str | None, typer.Option(
            "--publish", metavar="BOARD_DATE", help="Publish it as the board pack for this board date (YYYY-MM-DD): "
            "stored frozen by the API with its PDF, listed by GET /api/v1/packs.")] = None,
    ) -> None:
        """Write the performance book (the board pack) for a month: cover, summary grid, each KPI's chart,
        last 12 months, analysis, actions and changes since the last board. --out ending .pdf prints it
        (A4, page numbers) with headless Chromium."""
        import datetime as dt

        from core.settings import get_settings
        from dashboard.api_client import ApiClient, ApiProblem, close_all
        from dashboard.book import BookMonthError, pack_data, pack_html
        from dashboard.print_pdf import PdfUnavailable, html_to_pdf

        board_date = None
        if publish is not None:
            try:
                board_date = dt.date.fromisoformat(publish)
            except ValueError:
                raise fail(f"--publish {publish!r} is not a date: write it YYYY-MM-DD.", USAGE) from None
        api = ApiClient(api_url or get_settings().api_url, token)
        try:
            try:
                data = pack_data(api, month, board_date)
            except BookMonthError as exc:
                raise fail(f"{exc}.", USAGE) from None
            html = pack_html(data)
            pdf = html_to_pdf(html) if out.suffix.lower() == ".pdf" or board_date else None
            if board_date is not None:
                published = api.publish_pack(board_date, month, data["run_id"], data, html, pdf)
                typer.echo(f"Published board pack {published['id']} for the board of {board_date.isoformat()} "
                           f"(html sha256 {published['html_sha256'][:12]}).")
        except PdfUnavailable as exc:
            raise fail(str(exc)) from None
        except ApiProblem as exc:
            raise fail(exc.message) from None
        finally:
            close_all()
        try:
            if out.suffix.lower() == ".pdf":
                out.write_bytes(pdf or b"")
            else:
                out.write_text(html, encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {out}: {exc.strerror}.") from None
        typer.echo(f"Wrote the performance book for {month} to {out}.")

    @app.command("qa-page")
    def qa_page_command(
        month: Annotated[str, typer.Option(parser=month_option, metavar="YYYY-MM",
                                           help="The month (the current month runs to the extract date).")],
        out: Annotated[Path, typer.Option(help="The file to write: .html, or .pdf (printed by headless Chromium).")],
        level: Annotated[str, typer.Option(help="trust, service or team.")] = "trust",
        unit: Annotated[str | None, typer.Option(help="The service name or team id (with --level service or team).")]
        = None,
    ) -> None:
        """Write QA on a Page: audits done against due, grade mix, moderation, strongest and weakest domains,
        overdue actions and the linked KPIs' figures, on one A4 page."""
        from dashboard.components.qa_html import qa_page_html
        from dashboard.print_pdf import PdfUnavailable, html_to_pdf
        from kpis import KpiError, open_warehouse
        from kpis.qa import qa_page

        suffix = out.suffix.lower()
        if suffix not in (".html", ".htm", ".pdf"):
            raise fail(f"--out must end in .html or .pdf, not {out.name!r}.", USAGE)
        try:
            with open_warehouse() as wh:
                page = qa_page_html(qa_page(wh, month, level, unit))
        except KpiError as exc:
            raise fail(str(exc)) from None
        try:
            content = html_to_pdf(page) if suffix == ".pdf" else page.encode("utf-8")
        except PdfUnavailable as exc:
            raise fail(f"{exc} (or write --out with .html)") from None
        try:
            out.write_bytes(content)
        except OSError as exc:
            raise fail(f"cannot write {out}: {exc.strerror}.") from None
        typer.echo(f"Wrote QA on a Page for {month} ({level}{' ' + unit if unit else ''}) to {out}.")
