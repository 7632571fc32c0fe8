"""Benchmarks: each benchmarks/<name>_bench.py module has a main(); `python -m benchmarks` runs them.

Results and the commands that produced them are recorded in docs/benchmarks.md. Speed is measured
here, never asserted in a timed test.
"""
