"""`python -m benchmarks [NAME [ARGS...]]`: run every benchmarks/*_bench.py module's main(), or one.

With a NAME (e.g. `kpi_bench`), only that module runs, in this process, and ARGS go to its main(argv).
Without one, each module runs in a process of its own, one after another: a benchmark that measures its
commands' peak memory (the kernel's ru_maxrss) would otherwise count what an earlier one left in this process
(a child started from a 3.8 GB process reports at least that), and none inherits another's state.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path


def bench_modules() -> list[str]:
    """The benchmark modules beside this file, in name order."""
    return sorted(p.stem for p in Path(__file__).parent.glob("*_bench.py"))


def run(argv: list[str]) -> int:
    names = bench_modules()
    if argv and argv[0] not in names:
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    if not argv:
        for name in names:  # the first that fails stops the run, as an exception in this process did
            if code := subprocess.run([sys.executable, "-m", "benchmarks", name], check=False).returncode:
                return code
        return 0
    name, args = argv[0], argv[1:]
    print(f"\n## {name}", flush=True)
    main = importlib.import_module(f"benchmarks.{name}").main
    main(args) if inspect.signature(main).parameters else main()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
