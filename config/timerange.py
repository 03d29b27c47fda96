"""The time-range control shared by every dashboard page: 1h, 24h, 7d, 30d or custom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config import display_time

PRESETS = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
DEFAULT = "24h"
MAX_CUSTOM_SPAN = timedelta(days=400)
# A custom range lies between the epoch and a year from now: dates far out (year 1, year
# 9999) would overflow the date arithmetic of the charts and queries.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=366)
# Chart buckets, smallest first: the first giving at most MAX_POINTS points is used.
STEPS = [60, 300, 900, 3600, 6 * 3600, 86400]
MAX_POINTS = 400


class TimeRangeError(ValueError):
    """The request asked for a range we cannot show; the message says why."""


@dataclass(frozen=True)
class TimeRange:
    key: str
    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def step_seconds(self) -> int:
        seconds = self.duration.total_seconds()
        return next((s for s in STEPS if seconds / s <= MAX_POINTS), STEPS[-1])

    @property
    def label(self) -> str:
        if self.key in PRESETS:
            return PRESETS[self.key][0]
        return f"{display_time.text(self.start)} – {display_time.text(self.end)}"

    def params(self) -> dict[str, str]:
        """Query parameters that reproduce this range in a link."""
        if self.key in PRESETS:
            return {"range": self.key}
        fmt = "%Y-%m-%dT%H:%M"
        return {
            "range": "custom",
            "start": display_time.local(self.start).strftime(fmt),
            "end": display_time.local(self.end).strftime(fmt),
        }


def parse_time_range(params, now: datetime | None = None, default: str = DEFAULT) -> TimeRange:
    """Read `range` (and `start`/`end` for custom) from query parameters."""
    now = now or timezone.now()
    key = params.get("range") or default
    if key in PRESETS:
        return TimeRange(key, now - PRESETS[key][1], now)
    if key != "custom":
        choices = ", ".join([*PRESETS, "custom"])
        raise TimeRangeError(f"Unknown range {key!r}; choose one of {choices}.")
    start = _parse_moment(params.get("start"), "start", now)
    end = _parse_moment(params.get("end"), "end", now)
    if start >= end:
        raise TimeRangeError("The start of a custom range must be before its end.")
    if end - start > MAX_CUSTOM_SPAN:
        raise TimeRangeError(f"A custom range may span at most {MAX_CUSTOM_SPAN.days} days.")
    return TimeRange("custom", start, end)


def _parse_moment(raw: str | None, name: str, now: datetime) -> datetime:
    if not raw:
        raise TimeRangeError(f"A custom range needs a {name} date and time.")
    try:
        moment = parse_datetime(raw.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise TimeRangeError(f"The {name} {raw!r} is not a date and time like 2026-01-31T14:00.")
    latest = now + MAX_AHEAD
    # The year first: turning year 1 or 9999 into UTC could itself overflow.
    in_bounds = EARLIEST.year <= moment.year <= latest.year
    if in_bounds:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        in_bounds = EARLIEST <= moment <= latest
    if not in_bounds:
        raise TimeRangeError(
            f"The {name} of a custom range must be between {EARLIEST:%Y-%m-%d} and "
            f"{display_time.local(latest):%Y-%m-%d}."
        )
    return moment
