"""Benchmarks: each `bench_*.py` module has a `main()` that prints a table and appends it to
`bench/results.md`. `python -m bench` runs them all; `python -m bench.bench_broker` runs one."""
