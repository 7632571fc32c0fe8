"""`python -m benchmarks [NAME [ARGS...]]`: run every benchmarks/*_bench.py module's main(), or one.

With a NAME (e.g. `kpi_bench`), only that module runs and ARGS go to its main(argv).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path


def bench_modules() -> list[str]:
    """The benchmark modules beside this file, in name order."""
    return sorted(p.stem for p in Path(__file__).parent.glob("*_bench.py"))


def run(argv: list[str]) -> int:
    names = bench_modules()
    chosen, args = (argv[:1], argv[1:]) if argv and argv[0] in names else (names, [])
    if argv and argv[0] not in names:
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"\n## {name}", flush=True)
        main = importlib.import_module(f"benchmarks.{name}").main
        main(args) if inspect.signature(main).parameters else main()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
