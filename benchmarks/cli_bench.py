"""The command line's own cost: start-up, a load of the sample trust, and a national trend's time and memory.

    .venv/bin/python -m benchmarks cli_bench [--rounds 5] [--old REV] [--no-national]

Each measure is a fresh `kpidash` process (wall time from start to exit, its peak memory from
the kernel's rusage, its CPU time, user + system, of every thread, and its main thread's own CPU time),
--rounds times, medians. With --old REV (e.g. 5f5d3e5, the commit before the
daily cube) the same commands run from that revision's code too, alternating, in the same run: its
files are written once with `git archive` under data/bench/old-REV and put first on the path.
The national trend (`kpidash trend all --level team --format json`, stdout to /dev/null) reads the
national warehouse of kpi_bench, from its cube and from the facts (KPIDASH_CUBE=false).

Both versions' own modules are compiled to bytecode first, as an installed kpidash has them (pip compiles
a wheel's modules; a checkout writes them on its first run): where PYTHONDONTWRITEBYTECODE is set, as on
the project's shared machine, every process would otherwise compile them again (about 0.1 s of a load).
--from-source removes that bytecode instead, to measure what such a process pays.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.kpi_bench import BENCH_DIR, NATIONAL_FACTOR, national_warehouse, sample_warehouse, with_cube

ROOT = Path(__file__).resolve().parent.parent


def _old_code(rev: str) -> Path:
    folder = BENCH_DIR / f"old-{rev}"
    if not (folder / "cli" / "main.py").exists():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


PACKAGES = ("api", "cli", "core", "dashboard", "etl", "kpis", "scheduler")


def _bytecode(code: Path, compiled: bool) -> None:
    """Compile the project's modules under code (py_compile writes even under PYTHONDONTWRITEBYTECODE), or
    remove their bytecode."""
    for package in PACKAGES:
        if not (code / package).is_dir():
            continue
        if compiled:
            compileall.compile_dir(code / package, quiet=1)
        else:
            for folder in (code / package).rglob("__pycache__"):
                shutil.rmtree(folder, ignore_errors=True)


def _kpidash(args: list[str], env: dict[str, str], code: Path | None) -> tuple[float, float, float, float]:
    """(seconds, peak MB, CPU seconds, main thread's CPU seconds) of one `kpidash ARGS` process; code: another
    revision's files first on the path. CPU (user + system, every thread) and the main thread's own CPU (its
    critical path when the work beside it runs on the other core) say what the wall time cannot on a busy
    machine."""
    first = f"sys.path.insert(0, {str(code)!r}); " if code is not None else ""
    with tempfile.NamedTemporaryFile(suffix=".status") as status, tempfile.NamedTemporaryFile(suffix=".main") as main:
        # the process's own high-water mark, read as it exits (a child's rusage would count the benchmark's
        # memory too, which it shares between fork and exec)
        program = (f"import atexit, shutil, sys, time, pathlib; atexit.register(shutil.copyfile, '/proc/self/status', "
                   f"{status.name!r}); atexit.register(lambda: pathlib.Path({main.name!r}).write_text("
                   f"str(time.thread_time()))); {first}sys.argv = ['kpidash', *{args!r}]; import cli.main as m; "
                   "getattr(m, 'main', m.app)()")  # the console script's entry (`main`; older code: `app`)
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"kpidash {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
        peak_kb = next(int(line.split()[1]) for line in Path(status.name).read_text().splitlines()
                       if line.startswith("VmHWM:"))
        main_cpu = float(Path(main.name).read_text())
    return seconds, peak_kb / 1024, cpu, main_cpu


def _measure(label: str, args: list[str], env: dict[str, str], rounds: int, versions: dict[str, Path | None],
             prepare=None) -> list[str]:  # noqa: ANN001
    runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in versions}
    # each version its own app database: a newer one migrates it past what an older one knows
    envs = {name: {**env, "KPIDASH_APP_DB": env["KPIDASH_APP_DB"].replace(".db", f"-{i}.db")}
            for i, name in enumerate(versions)}
    for _ in range(rounds):
        for name, code in versions.items():
            if prepare is not None:
                prepare()
            runs[name].append(_kpidash(args, envs[name], code))
    out = []
    for name, results in runs.items():
        seconds = statistics.median(r[0] for r in results)
        mb = statistics.median(r[1] for r in results)
        cpu = statistics.median(r[2] for r in results)
        main_cpu = statistics.median(r[3] for r in results)
        out.append(f"| {label} | {name} | {seconds * 1000:,.0f} ms | {mb:,.0f} MB | {cpu * 1000:,.0f} ms | {main_cpu * 1000:,.0f} ms |")
    return out


def main(argv: list[str] | None = None) -> None:
    """Print a table: each command, each version, median wall time, peak memory and CPU time."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks cli_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each command (medians reported)")
    parser.add_argument("--old", help="a git revision to run side by side (e.g. the commit before the cube)")
    parser.add_argument("--no-national", action="store_true", help="skip the national trend (slow, gigabytes)")
    parser.add_argument("--from-source", action="store_true",
                        help="no bytecode for the project's modules: each process compiles them (PYTHONDONTWRITEBYTECODE)")
    args = parser.parse_args(argv if argv is not None else [])
    versions: dict[str, Path | None] = {"this": None}
    if args.old:
        versions = {f"old ({args.old})": _old_code(args.old), "this": None}
    for code in versions.values():
        _bytecode(code or ROOT, compiled=not args.from_source)
    sample = sample_warehouse()
    extract = sample.parent / "extract"
    scratch = Path(tempfile.mkdtemp(prefix="kpidash-cli-bench-"))
    env = {**os.environ, "KPIDASH_DB": str(scratch / "warehouse.duckdb"),
           "KPIDASH_ARCHIVE_DIR": str(scratch / "archive"), "KPIDASH_APP_DB": f"sqlite:///{scratch / 'app.db'}"}
    lines = ["| command | code | median wall | peak memory | median CPU | main thread's CPU |",
             "| --- | --- | --- | --- | --- | --- |"]
    try:
        lines += _measure("`kpidash --help`", ["--help"], env, args.rounds, versions)
        lines += _measure("`kpidash load` of the sample trust", ["load", str(extract)], env, args.rounds, versions,
                          prepare=lambda: shutil.rmtree(scratch / "archive", ignore_errors=True))
        if not args.no_national:
            national = with_cube(national_warehouse(with_cube(sample), NATIONAL_FACTOR))
            trend = ["trend", "all", "--level", "team", "--format", "json"]
            env_national = {**env, "KPIDASH_DB": str(national)}
            lines += _measure("national `kpidash trend all --level team --format json`", trend, env_national, 1,
                              versions)
            lines += _measure("the same, counted from the facts (`KPIDASH_CUBE=false`)", trend,
                              {**env_national, "KPIDASH_CUBE": "false"}, 1, {"this": None})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n### Command line (medians of {args.rounds}; national trend: one run each)\n")
    print("\n".join(lines))
