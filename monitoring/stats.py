"""Figures users read, computed from summed series (pure: no database, no request)."""

from __future__ import annotations

from lib.sketch import percentiles
from monitoring.series import Series


def summarize(value: Series) -> dict:
    """Requests, average, p50/p95/p99, max, error rate %, DB time and share, N+1 count."""
    count = value.count
    p50, p95, p99 = percentiles(value.buckets, (0.5, 0.95, 0.99))
    db_p95 = percentiles(value.db_buckets, (0.95,))[0]
    return {
        "requests": count,
        "errors": value.errors,
        "avg_ms": value.sum_ms / count if count else None,
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "max_ms": value.max_ms if count else None,
        "error_rate": 100.0 * value.errors / count if count else None,
        "db_avg_ms": value.db_ms / count if count else None,
        "db_p95_ms": db_p95,
        "db_share": 100.0 * value.db_ms / value.sum_ms if value.sum_ms else None,
        "queries_per_request": value.queries / count if count else None,
        "n_plus_one": value.n_plus_one,
    }


def client_errors(count_4xx: int, requests: int) -> dict:
    """Requests answered 4xx, and their share in percent: shown apart from the 5xx."""
    return {
        "client_errors": count_4xx,
        "client_error_rate": 100.0 * count_4xx / requests if requests else None,
    }


def combine(values) -> Series:
    total = Series()
    for value in values:
        total.merge(value)
    return total
