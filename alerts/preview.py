"""Preview: what a rule would have done over the last days, with the live evaluation's code.

The source answers through `series` (the same `load` and `compute` as live
evaluation), and the answers go through the same state machine, minute by
minute, exactly as the evaluation tick would have seen them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from alerts import sources
from alerts.evaluate import tick_time
from alerts.models.alerts import labels_key
from alerts.sources import Labels
from alerts.states import FIRING, RESOLVED, Track, Transition, step

STEP = timedelta(minutes=1)
DEFAULT_SPAN = timedelta(days=7)


@dataclass
class Backtest:
    start: datetime
    end: datetime
    unit: str = ""
    # Per label set: the metric at each evaluation with data.
    points: dict[Labels, list[tuple[datetime, float]]] = field(default_factory=dict)
    transitions: list[tuple[Labels, Transition]] = field(default_factory=list)
    # Label sets still pending or firing at the end.
    open_at_end: dict[Labels, str] = field(default_factory=dict)

    @property
    def fired(self) -> int:
        return sum(1 for _, t in self.transitions if t.state == FIRING)

    @property
    def resolved(self) -> int:
        return sum(1 for _, t in self.transitions if t.state == RESOLVED)


def backtest(rule, end: datetime | None = None, span: timedelta = DEFAULT_SPAN) -> Backtest:
    """Raises SourceError when the rule's source is missing or cannot answer its query."""
    source = sources.get_source(rule.source)
    query = rule.query()
    source.validate(query)
    end = tick_time(end or timezone.now())
    start = end - span
    result = Backtest(start, end, source.unit)
    condition = rule.condition()
    tracks: dict[Labels, Track] = {}
    for at, values in source.series(query, start, end, STEP):
        for labels, value in values.items():
            result.points.setdefault(labels, []).append((at, value))
        for labels in set(values) | set(tracks):
            track, taken = step(condition, tracks.get(labels, Track()), values.get(labels), at)
            tracks[labels] = track
            result.transitions += [(labels, t) for t in taken]
    result.open_at_end = {k: t.state for k, t in tracks.items() if t.state in ("pending", FIRING)}
    return result


def transition_rows(result: Backtest) -> list[dict]:
    return [
        {
            "at": t.at,
            "labels": labels_key(labels) or "–",
            "change": f"{t.previous} → {t.state}",
            "value": t.value,
        }
        for labels, t in result.transitions
    ]
