"""dq_import: a 1,000,000-line statements CSV imported end to end (read, validate, store)
on PostgreSQL, and the previous row-by-row importer on a sample of it, side by side.

    DATABASE_URL=postgres://.../perfmon_dq python -m tests.bench dq_import

Steps, in a process of their own with a database of their own (`<database>_import`):
migrate it, generate the file with dataquality/synthetic.py (about 1,000,000 line
items: 3,300 entities x 10 quarters x 3 statements), time `import_file` on it into the
empty tables, then time the same file again (every statement replaced). The
baseline is the importer as it was before COPY and vectorised reading (taken from
the repository's history at BASELINE_COMMIT), timed on the first 50,000 lines of
the same file into an empty database, in the same run.

Absolute rates differ two to three times between machines, so the import is also
divided by a floor measured in the same process on the same file: pandas reading
it (`read_csv`, every column as text) and PostgreSQL storing its rows as they are
(COPY into a temporary table of text columns): parsing and storing, bare, with no
validation, no statements and no keys (`dq_import_vs_floor`, lower is better).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var" / "bench"
CSV = VAR / "dq_import.csv"
ENTITIES = 3300
PERIODS = 10
BASELINE_LINES = 50_000
# The importer before this benchmark existed: update_or_create per statement, a model
# instance and a Decimal per line item, regular expressions over every value.
BASELINE_COMMIT = "e392bb0"
TARGET_ROWS_PER_S = 50_000
# The import's seconds over the floor's. Measured on a machine loaded ten times over: 8.4
# (143 s over 17 s); the target leaves 1.5x for noise.
TARGET_VS_FLOOR = 12


def main() -> None:
    from tests.bench.bench_dq_scan import _drop, _json, _run
    from tests.bench.report import bench

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise RuntimeError("dq_import needs PostgreSQL: set DATABASE_URL=postgres://...")
    bench_url = _fresh(url)
    env = {**os.environ, "DATABASE_URL": bench_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-0123456789-012345")
    env.pop("REDIS_URL", None)
    env["CELERY_TASK_ALWAYS_EAGER"] = "true"
    env["DATAQUALITY_IMPORT_MAX_MB"] = "500"  # the 1,000,000-line file is about 95 MB
    try:
        _run([sys.executable, "manage.py", "migrate", "-v0"], env)
        ours = _json(_run([sys.executable, __file__, "import"], env))
        print(
            f"generated {ours['rows']:,} lines ({ours['megabytes']:.0f} MB) in "
            f"{ours['generated']:.1f} s; imported {ours['statements']:,} statements in "
            f"{ours['seconds']:.1f} s (read {ours['read']:.1f} s, validate "
            f"{ours['validate']:.1f} s, store {ours['store']:.1f} s); "
            f"again, replacing them all: {ours['again']:.1f} s; floor (read_csv and COPY "
            f"of the same file, bare) {ours['floor']:.1f} s",
            flush=True,
        )
        _run([sys.executable, "manage.py", "flush", "--no-input"], env)
        old = _json(_run([sys.executable, __file__, "baseline"], env))
        print(
            f"baseline (the row-by-row importer at {BASELINE_COMMIT}): {old['rows']:,} lines in "
            f"{old['seconds']:.1f} s = {old['rows'] / old['seconds']:,.0f} rows/s "
            f"({1e6 * old['seconds'] / old['rows']:.0f} us a row); ours "
            f"{1e6 * ours['seconds'] / ours['rows']:.1f} us a row",
            flush=True,
        )
    finally:
        _drop(url, bench_url)
    bench("dq_import_rows_per_s", ours["rows"] / ours["seconds"], "rows/s", ">=", TARGET_ROWS_PER_S)
    bench("dq_import_vs_floor", ours["seconds"] / ours["floor"], "x", "<=", TARGET_VS_FLOOR)
    bench(
        "dq_import_replace_rows_per_s",
        ours["rows"] / ours["again"],
        "rows/s",
        ">=",
        TARGET_ROWS_PER_S,
    )


def _fresh(url: str) -> str:
    """An empty database of the benchmark's own, next to the one in DATABASE_URL."""
    import psycopg

    from tests.bench.bench_dq_scan import _admin_url

    parsed = urlparse(url)
    name = parsed.path.lstrip("/") + "_import"
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path="/" + name))


# --- in the project's virtualenv, with Django ----------------------------------------


def _generate() -> tuple[bytes, float]:
    from datetime import date

    from dataquality import synthetic

    started = time.monotonic()
    if not CSV.exists():
        dataset = synthetic.generate(
            seed=14, today=date(2026, 12, 1), entities=ENTITIES, periods=(PERIODS, PERIODS), stale=0
        )
        VAR.mkdir(parents=True, exist_ok=True)
        CSV.write_bytes(synthetic.to_csv(dataset))
    return CSV.read_bytes(), time.monotonic() - started


def run_import() -> None:
    import django

    django.setup()
    from dataquality import importer

    data, generated = _generate()
    marks = {}

    def progress(phase: str, done: int, total: int) -> None:
        marks.setdefault(phase, time.monotonic())

    started = time.monotonic()
    report = importer.import_file(data, "bench.csv", progress=progress)
    seconds = time.monotonic() - started
    assert report.ok and report.saved, [str(e) for e in report.errors[:5]]
    again_started = time.monotonic()
    again = importer.import_file(data, "bench.csv")
    assert again.replaced == report.statements, (again.replaced, report.statements)
    result = {
        "rows": report.rows,
        "megabytes": len(data) / 1e6,
        "statements": report.statements,
        "generated": generated,
        "seconds": seconds,
        "read": marks["validating"] - marks["reading"],
        "validate": marks["storing"] - marks["validating"],
        "store": started + seconds - marks["storing"],
        "again": time.monotonic() - again_started,
        "floor": floor(data),
    }
    print(json.dumps(result))


def floor(data: bytes) -> float:
    """Seconds to parse the file with pandas and COPY its rows, as text, into a table."""
    import io

    import pandas as pd
    from django.db import connection, transaction

    started = time.monotonic()
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    columns = ", ".join(f"c{i} text" for i in range(len(frame.columns)))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE import_floor ({columns}) ON COMMIT DROP")
        with cursor.copy("COPY import_floor FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(data)
        cursor.execute("SELECT count(*) FROM import_floor")
        stored = cursor.fetchone()[0]
    if stored != len(frame):
        raise RuntimeError(f"the floor stored {stored} rows of {len(frame)}")
    return time.monotonic() - started


def run_baseline() -> None:
    import django

    django.setup()
    source = subprocess.run(  # noqa: S603
        ["git", "show", f"{BASELINE_COMMIT}:dataquality/importer.py"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = VAR / "old_importer.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_importer", path)
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_importer"] = old  # dataclasses look their module up
    spec.loader.exec_module(old)
    data, _ = _generate()
    lines = data.splitlines(keepends=True)
    end = BASELINE_LINES + 1
    statement = lines[end - 1].split(b",")[:3]
    while end < len(lines) and lines[end].split(b",")[:3] == statement:
        end += 1  # whole statements: a total and its components stay together
    sample = b"".join(lines[:end])
    started = time.monotonic()
    report = old.import_file(sample, "baseline.csv")
    seconds = time.monotonic() - started
    assert report.ok and report.saved
    print(json.dumps({"rows": report.rows, "seconds": seconds}))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    {"import": run_import, "baseline": run_baseline}[sys.argv[1]]()
