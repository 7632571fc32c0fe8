"""`kpidash sample`: write the synthetic sample trust's extract (the sample_data layer's command).

Exit status: 0 when the extract was written, 2 for a bad option value, 1 when the folder cannot be
written. Errors are one plain message, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.errors import USAGE, fail
from core.dates import DateProblem, parse_date

if TYPE_CHECKING:
    from sample_data import SampleSummary


HELP = (
    "Write a synthetic, obviously fictional extract of a children's trust the size of Sandwell.\n\n"
    "Three full years of referrals, assessments, section 47 enquiries, episodes, allocations and missing "
    "episodes, with rates near the national figures, in the extract contract's format "
    "(--format ssd: as Standard Safeguarding Dataset tables, docs/ssd.md). "
    "Load it with: kpidash load DIR"
)


class SampleFormat(str, Enum):
    contract = "contract"
    ssd = "ssd"


def _end_date(value: str | None) -> dt.date | None:
    """core.dates' rule, as for every date a command reads."""
    if value is None:
        return None
    try:
        return parse_date(value, "--end-date")
    except DateProblem as exc:
        raise typer.BadParameter(str(exc).removeprefix("--end-date "), param_hint="'--end-date'") from None


def _scale(value: float) -> float:
    from sample_data.generator import MAX_SCALE, MIN_SCALE

    if not MIN_SCALE <= value <= MAX_SCALE:
        raise typer.BadParameter(f"{value:g} is out of range: use a number from {MIN_SCALE:g} to {MAX_SCALE:g} (1 = a trust the size of Sandwell)")
    return value


def _report(summary: SampleSummary, seconds: float) -> str:
    width = max(len(name) for name in summary.rows)
    lines = [
        f"sample trust written to {summary.out} (seed {summary.seed}, scale {summary.scale:g}, "
        f"history ending {summary.end_date.isoformat()}) in {seconds:.1f} s",
    ]
    lines += [f"  {name.ljust(width)}  {count:>10,}" for name, count in summary.rows.items()]
    lines.append(f"  {'total'.ljust(width)}  {summary.total_rows:>10,}")
    return "\n".join(lines)


def sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the CSV files and manifest.json into (created if absent; files of the same names are replaced).", show_default=False)],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed: the same seed, scale and end date give byte-identical files.")] = 1,
    scale: Annotated[float, typer.Option("--scale", callback=_scale, help="Size of the trust, from 0.01 to 100: 1 is about 80,000 children and 3,800 referrals a year; 10 is ten times that (teams and workers too).")] = 1.0,
    end_date: Annotated[str | None, typer.Option("--end-date", metavar="YYYY-MM-DD", help="Last day of the three years of history (the extract is dated the day after). Default: yesterday.", show_default=False)] = None,
    fmt: Annotated[SampleFormat, typer.Option("--format", help="contract: the nine CSV files of the extract contract; ssd: the Standard Safeguarding Dataset's tables (ssd_person.csv, ...), with each case kept in one team as the SSD holds it (docs/ssd.md).")] = SampleFormat.contract,
    ssd_compatible: Annotated[bool, typer.Option("--ssd-compatible", help="With --format contract: the trust --format ssd writes (each case in one team), in the contract's format; both load to the same figures.")] = False,
) -> None:
    """A realistic extract to demo, test and benchmark with, and no real child's data anywhere."""
    from sample_data import generate_sample

    began = time.perf_counter()
    last_day = _end_date(end_date)
    try:
        summary = generate_sample(out, seed=seed, scale=scale, end_date=last_day, fmt=fmt.value,
                                  ssd_compatible=ssd_compatible)
    except ValueError as err:  # options that do not go together: the command line is wrong
        raise fail(str(err), USAGE) from None
    except OSError as err:
        raise fail(f"cannot write the sample into {out}: {err.strerror or err}") from None
    typer.echo(_report(summary, time.perf_counter() - began))


def register(app: typer.Typer) -> None:
    """Add `kpidash sample` to the kpidash app."""
    app.command("sample", help=HELP)(sample)
