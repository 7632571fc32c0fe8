"""`kpidash kpis`, `kpidash records`, `kpidash trend` and `kpidash spc`: the KPI layer from the command line.

All four read the published warehouse at KPIDASH_DB and the KPI configuration (KPIDASH_CONFIG_FILE).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from cli.errors import date_option, fail, warn

if TYPE_CHECKING:  # the KPI layer is imported when a command runs, not for every command
    from kpis import Warehouse

SPC_PERIODS = 24  # kpis.spc.DEFAULT_PERIODS (tests/test_cli_startup.py checks), named without importing it


class Level(str, Enum):
    trust = "trust"
    service = "service"
    team = "team"
    worker = "worker"
    all = "all"


class Format(str, Enum):
    json = "json"
    table = "table"


class By(str, Enum):
    month = "month"
    week = "week"


class UnitLevel(str, Enum):
    """The level of one unit (records, trend, spc): `all` is for `kpidash kpis` only."""

    trust = "trust"
    service = "service"
    team = "team"
    worker = "worker"


FromOpt = Annotated[dt.date | None, typer.Option("--from", parser=date_option, metavar="YYYY-MM-DD",
                                                 help="First day of the period (default: the first day "
                                                 "of the --to month).")]
ToOpt = Annotated[dt.date | None, typer.Option("--to", parser=date_option, metavar="YYYY-MM-DD",
                                               help="Last day of the period, the as-at date of stock KPIs "
                                               "(default: the extract date).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="json: the spec's machine-readable output; "
                                           "table: for reading.")]
# The options trend and spc share (their --periods and --to differ: spc counts only complete periods).
KpiOrAllArg = Annotated[str, typer.Argument(help='The KPI id, or "all" for every KPI.')]
ByOpt = Annotated[By, typer.Option("--by", help="month (calendar months) or week (Monday to Sunday).")]
SeriesLevelOpt = Annotated[UnitLevel, typer.Option("--level", help="trust, service, team or worker.")]
SeriesUnitOpt = Annotated[str | None, typer.Option("--unit", help="Only this unit of the level.")]


@contextmanager
def _warehouse() -> Iterator[Warehouse]:
    """The published warehouse; bad input ends the command with the analyst's message, exit 1."""
    from kpis import KpiError, open_warehouse

    try:
        wh = open_warehouse()
    except KpiError as exc:
        raise fail(str(exc)) from None
    try:
        yield wh
    except KpiError as exc:
        raise fail(str(exc)) from None
    finally:
        wh.close()


def _warn_if_projected(wh: Warehouse, date_to: dt.date | None) -> None:
    """A period ending after the extract date: say its stock figures are projections (the API says so
    in its X-Kpidash-Warning header; core.dates.projection_note is the one wording)."""
    from core.dates import projection_note

    note = projection_note(date_to, wh.extract_date) if date_to is not None else None
    if note:
        warn(note)


def _value(row: dict) -> str:
    """The value as every other view shows it (kpis.targets.format_figure: half up to its unit's decimals,
    so 13 of 16 reads 81.3%, as the RAG beside it is judged); a count stays a plain number."""
    from kpis.targets import DECIMALS, format_figure

    if row.get("available") is False:
        return row["note"]
    v = row["value"]
    if v is None:
        return "-"
    unit = row.get("unit_of_measure")
    if unit in DECIMALS:
        return format_figure(v, unit).replace(",", "")
    return str(v)


def _number(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _print_table(rows: Sequence[dict], columns: Sequence[tuple[str, Callable[[dict], str]]]) -> None:
    if not rows:
        typer.echo("(no rows)")
        return
    cells = [[fmt(r) for _, fmt in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (h, _) in enumerate(columns)]
    typer.echo("  ".join(h.ljust(w) for (h, _), w in zip(columns, widths)).rstrip())
    typer.echo("  ".join("-" * w for w in widths))
    for c in cells:
        typer.echo("  ".join(x.ljust(w) for x, w in zip(c, widths)).rstrip())


def _print_json(rows: list[dict]) -> None:
    """The rows as one JSON array: indented on a terminal, where a person reads it; compact and
    written a slice at a time otherwise (a national trend is a million rows: one indented string of
    them all took seconds and gigabytes)."""
    out = sys.stdout
    if out.isatty():
        typer.echo(json.dumps(rows, indent=2))
        return
    out.write("[")
    for i in range(0, len(rows), _JSON_SLICE):
        out.write(("," if i else "") + json.dumps(rows[i : i + _JSON_SLICE], separators=(",", ":"))[1:-1])
    out.write("]\n")
    out.flush()


_JSON_SLICE = 10_000


def _print_figures(rows: list[dict], wh: Warehouse, fmt: Format, with_period: bool = False) -> None:
    if fmt is Format.json:
        _print_json(rows)
        return
    columns: list[tuple[str, Callable[[dict], str]]] = []
    if with_period:
        columns += [("from", lambda r: r["period_start"]), ("to", lambda r: r["period_end"])]
    columns += [
        ("kpi", lambda r: r["kpi"]),
        ("level", lambda r: r["level"]),
        ("unit", lambda r: r["unit"]),
        *([("domain", lambda r: r.get("domain") or "-")] if any("domain" in r for r in rows) else []),
        ("value", _value),
        ("numerator", lambda r: _number(r["numerator"])),
        ("denominator", lambda r: _number(r["denominator"])),
        ("target", lambda r: _number(r["target"])),
        ("rag", lambda r: r["rag"] or "-"),
    ]
    from kpis import with_targets

    _print_table(with_targets(rows, wh.config), columns)


def kpis_command(
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    level: Annotated[Level, typer.Option("--level", help="trust, service, team, worker, or all four.")] = Level.trust,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (a team id, service name or "
                                             "worker id) of the level.")] = None,
    kpi: Annotated[list[str] | None, typer.Option("--kpi", help="Only this KPI id (repeat for more).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Every KPI (or those named) for a period, at one level (or all), for every unit of that level."""
    from kpis import compute_kpis

    with _warehouse() as wh:
        _warn_if_projected(wh, date_to)
        rows = compute_kpis(wh, date_from, date_to, level.value, unit, kpi or None)
        _print_figures(rows, wh, fmt)


def records_command(
    kpi: Annotated[str, typer.Argument(help="The KPI id, e.g. assessments_within_45wd.")],
    unit: Annotated[str, typer.Option("--unit", help='"trust", a team id, a service name or a worker id.')],
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    level: Annotated[UnitLevel | None, typer.Option("--level", help="The unit's level (trust, service, team or "
                                                    "worker), when its name is ambiguous (default: trust, then "
                                                    "team, service, worker).")] = None,
    fmt: FormatOpt = Format.table,
    domain: Annotated[str | None, typer.Option("--domain", help="For domain_good_or_better: one audit domain's "
                                               "records, those behind its figure (e.g. child_experience); "
                                               "without it every domain's, counted per domain.")] = None,
) -> None:
    """The child-level records behind one figure, each counted in the numerator or only the denominator.

    Written to the audit trail first (who ran it, from where, how many records): no entry, no records."""
    from kpis import kpi_records
    from kpis.compute import resolve_period

    with _warehouse() as wh:
        _warn_if_projected(wh, date_to)
        rows = kpi_records(wh, kpi, unit, date_from, date_to, level.value if level else None, domain)
        date_from, date_to = resolve_period(wh, date_from, date_to)  # the audit entry names the days shown
        _audit_records(wh, kpi, unit, level.value if level else None, date_from, date_to, len(rows), fmt, domain)
        if fmt is Format.json:
            _print_json(rows)
            return
        names = list(rows[0]) if rows else []
        _print_table(rows, [(n, lambda r, n=n: _number(r[n])) for n in names])
        _print_counts(rows)


def _print_counts(rows: list[dict]) -> None:
    """How many records count in the numerator and how many only in the denominator: per domain where the
    rows are several domains' (each domain is its own figure, so one total would match none)."""
    groups: dict[str | None, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get("domain"), []).append(r)
    for name, group in (groups.items() if len(groups) > 1 else [(None, rows)]):
        numerator = sum(r["counted_in"] == "numerator" for r in group)
        typer.echo(f"{f'{name}: ' if name else ''}{numerator} counted in the numerator, "
                   f"{len(group) - numerator} only in the denominator")


def _audit_records(wh: Warehouse, kpi: str, unit: str, level: str | None, date_from: dt.date, date_to: dt.date,
                   count: int, fmt: Format, domain: str | None = None) -> None:
    """The audit entry of `kpidash records` (the app database must be reachable: no entry, no records)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.appdb import get_engine
    from core.audit import record_command

    try:
        record_command(get_engine(), "records", kpi=kpi, unit=unit, level=level or wh.infer_level(unit),
                       date_from=date_from, date_to=date_to, record_count=count,
                       detail=f"kpidash records --format {fmt.value}" + (f" --domain {domain}" if domain else ""))
    except (SQLAlchemyError, OSError) as exc:
        cause = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise fail(f"the records are not shown: the audit trail (KPIDASH_APP_DB) cannot be written ({cause})") from None


def trend_command(
    kpi: KpiOrAllArg,
    by: ByOpt = By.month,
    periods: Annotated[int, typer.Option("--periods", help="How many periods, ending with the one holding --to.",
                                         min=1)] = 24,
    level: SeriesLevelOpt = UnitLevel.trust,
    unit: SeriesUnitOpt = None,
    date_to: Annotated[dt.date | None, typer.Option("--to", parser=date_option, metavar="YYYY-MM-DD",
                                                    help="The series ends with the month or week holding this "
                                                    "date, counted up to it (default: the extract date).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """A KPI per month or week (flow: events in the period; stock: at its end); the last period runs only to
    --to, so it is partial unless --to is its last day."""
    from kpis import get_kpi, kpi_trend

    with _warehouse() as wh:
        _warn_if_projected(wh, date_to)
        ids = None if kpi == "all" else [get_kpi(kpi).id]
        rows = kpi_trend(wh, ids, by.value, periods, level.value, unit, date_to)
        _print_figures(rows, wh, fmt, with_period=True)


_FLAGS = (("outside", "outside"), ("two_of_three", "2 of 3"), ("shift", "shift"), ("trend", "trend"))


def _print_spc(charts: list[dict]) -> None:
    """Each chart: its icons, then one line per point with its limits and the rules it breaks."""
    from kpis.spc import SPC_KEYS

    if not charts:
        typer.echo("(no units with figures in these periods)")
    for c in charts:
        extra = "".join(f" {k}={c[k]}" for k in c if k not in SPC_KEYS and k not in ("available", "note"))
        typer.echo(f"{c['kpi']}  {c['level']} {c['unit']}{extra}  by {c['by']}: variation {c['variation'] or '-'}, "
                   f"assurance {c['assurance'] or '-'}" + ("  (trial limits)" if c["trial_limits"] else ""))
        _print_table(c["points"], [
            ("from", lambda p: p["period_start"]), ("to", lambda p: p["period_end"]),
            ("value", lambda p: _number(p["value"])), ("mean", lambda p: _short(p["mean"])),
            ("lower", lambda p: _short(p["lower_limit"])), ("upper", lambda p: _short(p["upper_limit"])),
            ("rules", lambda p: ", ".join(label for key, label in _FLAGS if p[key]) or "-"),
            ("special cause", lambda p: p["special_cause"] or "-"),
        ])
        typer.echo("")


def _short(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def spc_command(
    kpi: KpiOrAllArg,
    by: ByOpt = By.month,
    periods: Annotated[int, typer.Option("--periods", min=1, help="How many complete periods, ending with the last "
                                         "one that ends on or before --to.")] = SPC_PERIODS,
    level: SeriesLevelOpt = UnitLevel.trust,
    unit: SeriesUnitOpt = None,
    date_to: Annotated[dt.date | None, typer.Option("--to", parser=date_option, metavar="YYYY-MM-DD",
                                                    help="The series ends with the last period that ends on or "
                                                    "before this date (default: the extract date).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """XmR chart of a KPI (docs/spc.md): mean, limits, special-cause rules, variation and assurance, per unit."""
    from kpis import get_kpi, kpi_spc

    with _warehouse() as wh:
        _warn_if_projected(wh, date_to)
        ids = None if kpi == "all" else [get_kpi(kpi).id]
        charts = kpi_spc(wh, ids, by.value, periods, level.value, unit, date_to)
        if fmt is Format.json:
            _print_json(charts)
        else:
            _print_spc(charts)


def register(app: typer.Typer) -> None:
    """Add the KPI commands (kpis, records, trend, spc) to the kpidash app."""
    app.command("kpis")(kpis_command)
    app.command("records")(records_command)
    app.command("trend")(trend_command)
    app.command("spc")(spc_command)
