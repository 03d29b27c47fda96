"""`make bench`: run every tests/bench/bench_*.py module's `main()`.

Each benchmark prints one line per figure:

    BENCH <name> <value> <unit> target <op> <value>

and measures its baseline in the same run, so the ratio holds on a noisy
machine. Benchmarks use PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set.
Run one with `python -m tests.bench <name>` (e.g. `rum_ingest`).
"""

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or n.removeprefix("bench_") in argv]
    if not wanted:
        print("no benchmarks yet" if not names else f"no benchmark matches {argv}; have {names}")
        return 0 if not names else 2
    failed = []
    for name in wanted:
        started = time.monotonic()
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"tests.bench.{name}")
        try:
            module.main()
        except Exception as exc:  # report and go on: one broken bench must not hide the others
            failed.append(name)
            print(f"!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"== {name} done in {time.monotonic() - started:.0f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
