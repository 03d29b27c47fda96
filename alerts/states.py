"""The alert state machine: pure, shared by live evaluation and the Preview backtest.

    inactive → pending (condition true, `for` not yet elapsed) → firing → resolved

A value of None (no data for the label set) does what the rule's no-data
policy says, as Grafana offers: keep the state (nothing fires or resolves),
resolve (a latency rule on a route that stopped receiving traffic), or alert
(the missing data is itself the problem: a host that stopped reporting goes
through pending and firing as a breach would). Once firing, an alert resolves
only when the value is no longer past the resolve threshold (hysteresis), so
a value wobbling around the threshold does not flap.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

INACTIVE = "inactive"
PENDING = "pending"
FIRING = "firing"
RESOLVED = "resolved"

# Ticks are due every interval but start a little early or late: a `for` of five
# minutes is met by the fifth tick after the first, not the sixth.
TICK_JITTER = timedelta(seconds=5)

# What no data does: keep the state, resolve, or alert as "no data".
KEEP, RESOLVE, ALERT = "keep", "resolve", "alert"

OPERATORS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
SYMBOLS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}


@dataclass(frozen=True)
class Condition:
    operator: str
    threshold: float
    resolve_threshold: float | None = None
    for_duration: timedelta = timedelta(0)
    no_data: str = KEEP

    def __post_init__(self):
        # A rule written behind the form's back (a script, a restored dump) is refused
        # here, so the tick reports it instead of comparing against nonsense.
        if self.operator not in OPERATORS:
            raise ValueError(f"unknown operator {self.operator!r}")
        for name in ("threshold", "resolve_threshold"):
            value = getattr(self, name)
            if value is None and name == "resolve_threshold":
                continue
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name.replace('_', ' ')} {value!r} is not a number")
        if self.no_data not in (KEEP, RESOLVE, ALERT):
            raise ValueError(f"unknown no-data choice {self.no_data!r}")

    def breached(self, value: float | None) -> bool:
        if value is None:
            return self.no_data == ALERT
        return OPERATORS[self.operator](value, self.threshold)

    def still_firing(self, value: float | None) -> bool:
        if value is None:
            return self.no_data == ALERT
        limit = self.threshold if self.resolve_threshold is None else self.resolve_threshold
        return OPERATORS[self.operator](value, limit)


@dataclass(frozen=True)
class Track:
    """Where one label set of one rule stands: its state and since when."""

    state: str = INACTIVE
    since: datetime | None = None


@dataclass(frozen=True)
class Transition:
    at: datetime
    previous: str
    state: str
    value: float | None


def elapsed(since: datetime, at: datetime, duration: timedelta) -> bool:
    """Whether `duration` has passed from `since` to the tick at `at`, give or take jitter."""
    return at - since >= duration - TICK_JITTER


def step(
    condition: Condition, track: Track, value: float | None, at: datetime
) -> tuple[Track, list[Transition]]:
    """The next track after seeing `value` at `at`, and the transitions taken."""
    if value is None and condition.no_data == KEEP:
        return track, []
    if value is None and condition.no_data == RESOLVE:
        return clear(track, at)
    state = track.state
    if state in (INACTIVE, RESOLVED):
        if not condition.breached(value):
            return Track(), []
        if condition.for_duration <= timedelta(0):
            return Track(FIRING, at), [Transition(at, INACTIVE, FIRING, value)]
        return Track(PENDING, at), [Transition(at, INACTIVE, PENDING, value)]
    if state == PENDING:
        if not condition.breached(value):
            return Track(), [Transition(at, PENDING, INACTIVE, value)]
        if elapsed(track.since, at, condition.for_duration):
            return Track(FIRING, at), [Transition(at, PENDING, FIRING, value)]
        return track, []
    if state == FIRING:
        if condition.still_firing(value):
            return track, []
        return Track(), [Transition(at, FIRING, RESOLVED, value)]
    raise ValueError(f"unknown alert state {state!r}")


def clear(track: Track, at: datetime) -> tuple[Track, list[Transition]]:
    """The condition no longer applies (no data, under the resolve policy): close the track."""
    if track.state == FIRING:
        return Track(), [Transition(at, FIRING, RESOLVED, None)]
    if track.state == PENDING:
        return Track(), [Transition(at, PENDING, INACTIVE, None)]
    return Track(), []


def replay(
    condition: Condition, points: Iterable[tuple[datetime, float | None]], track: Track = Track()
) -> tuple[Track, list[Transition]]:
    """Run the state machine over a series of (time, value)."""
    transitions: list[Transition] = []
    for at, value in points:
        track, taken = step(condition, track, value, at)
        transitions.extend(taken)
    return track, transitions
