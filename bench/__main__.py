"""Run every `bench/bench_*.py` module's `main()`, in name order; `python -m bench [name ...]`
runs only the named ones (e.g. `python -m bench broker`)."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def modules(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if selected:
        wanted = {s if s.startswith("bench_") else f"bench_{s}" for s in selected}
        names = [n for n in names if n in wanted]
    return names


def main(argv: list[str] | None = None) -> int:
    failed = []
    for name in modules(sys.argv[1:] if argv is None else argv):
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            module.main()
        except Exception as exc:  # one broken benchmark must not hide the others' numbers
            failed.append(name)
            print(f"!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"== {name} done in {time.perf_counter() - start:.1f} s\n", flush=True)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
