"""How figures read on the dashboards (the CSV exports keep the raw numbers)."""

from __future__ import annotations

from collections.abc import Iterable

from config import display_time

ORDER = ("nodata", "good", "warning", "critical")


def ms(value) -> str:
    if value is None:
        return "–"
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    if value >= 10:
        return f"{value:,.0f} ms"
    return f"{value:.2f} ms"


def pct(value) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} %" if value < 10 else f"{value:.1f} %"


def count(value) -> str:
    return "–" if value is None else f"{value:,}"


def rate(value) -> str:
    return "–" if value is None else f"{value:,.1f}/min"


def megabytes(value) -> str:
    return "–" if value is None else f"{value / 1e6:,.0f} MB"


def bytes_per_second(value) -> str:
    return "–" if value is None else f"{value / 1e3:,.1f} kB/s"


def decimal(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def timestamp(value) -> str:
    return display_time.text(value, seconds=True)


def worst(statuses: Iterable[str]) -> str:
    """The most severe status; "nodata" only when there is nothing else."""
    return max(statuses, key=ORDER.index, default="nodata")
