"""What a process's flush hands to the live store: sums keyed by statement fingerprint,
samples as they are saved, and the increments of this host's /metrics counters.

Where they go (Redis, or the database on the embedded default) is the live store's
business: see monitoring.live_store.
"""

from __future__ import annotations

import socket

from lib.sketch import bucket_value
from monitoring import series
from monitoring.live_store import Flush, live_store
from monitoring.series import OTHER_STATEMENT, QUERY, Series
from monitoring.sql import fingerprint

OTHER_FINGERPRINT = "0" * 16
# Prometheus histogram bounds, seconds (kept few: each is a series per route).
LE_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
HOST = socket.gethostname()


def store(sums: dict[tuple, Series], samples: list[dict]) -> None:
    """Store one process's sums and samples (called by the recorder's flush)."""
    sums, texts = fingerprint_statements(sums)
    totals: dict[tuple, dict[str, int]] = {}
    for (_, kind, name, method, status), value in sums.items():
        if kind != QUERY:
            target = totals.setdefault((kind, name, method, status), {})
            for code, amount in total_increments(value).items():
                target[code] = target.get(code, 0) + amount
    prepared = [prepare_sample(s) for s in samples]
    live_store().store(Flush(sums, texts, totals, prepared, HOST))


def fingerprint_statements(sums: dict[tuple, Series]) -> tuple[dict[tuple, Series], dict]:
    """Re-key "query" series from the SQL as sent to its normalised fingerprint."""
    out: dict[tuple, Series] = {}
    texts: dict[str, str] = {}
    for (minute, kind, name, method, status), value in sums.items():
        if kind == QUERY:
            if name == OTHER_STATEMENT:
                fp, statement = OTHER_FINGERPRINT, OTHER_STATEMENT
            else:
                fp, statement = fingerprint(name)
            texts[fp] = statement
            name = fp
        target_key = (minute, kind, name, method, status)
        target = out.get(target_key)
        if target is None:
            out[target_key] = value
        else:
            target.merge(value)
    return out, texts


def prepare_sample(sample: dict) -> dict:
    """A recorded sample as stored: SQL normalised, values gone, N+1 statements named."""
    queries = []
    for sql, ms in sample["queries"]:
        fp, statement = fingerprint(sql)
        queries.append({"fingerprint": fp, "sql": statement, "ms": round(float(ms), 3)})
    repeated: dict[str, dict] = {}
    for sql, count in sample["repeated"].items():
        fp, statement = fingerprint(sql)
        entry = repeated.setdefault(fp, {"fingerprint": fp, "sql": statement, "count": 0})
        entry["count"] += count
    return {
        "sample_id": sample["id"],
        "time": sample["time"],
        "route": sample["route"][:255],
        "method": sample["method"][:10],
        "status": int(sample["status"]),
        "duration_ms": round(float(sample["duration_ms"]), 3),
        "db_ms": round(float(sample["db_ms"]), 3),
        "query_count": int(sample["query_count"]),
        "slow": bool(sample["slow"]),
        "n_plus_one": bool(repeated),
        "host": HOST,
        "queries": queries,
        "repeated": sorted(repeated.values(), key=lambda r: -r["count"]),
    }


def le_position(index: int) -> int:
    """Which Prometheus bucket a histogram bucket counts toward (len(LE) = +Inf)."""
    position = _le_cache.get(index)
    if position is None:
        value_s = bucket_value(index) / 1000.0
        position = next((i for i, le in enumerate(LE_SECONDS) if value_s <= le), len(LE_SECONDS))
        _le_cache[index] = position
    return position


_le_cache: dict[int, int] = {}


def total_increments(value: Series) -> dict[str, int]:
    """The counters a series adds to /metrics: its coded counters and le buckets."""
    fields = series.metric_increments(value)
    for index, count in value.buckets.items():
        name = f"{series.LE_CODE}{le_position(int(index))}"
        fields[name] = fields.get(name, 0) + count
    return {k: v for k, v in fields.items() if v}
