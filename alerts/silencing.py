"""Which alerts are muted right now: silences and recurring maintenance windows."""

from __future__ import annotations

from datetime import datetime

from alerts.models import MaintenanceWindow, Silence
from alerts.sources import Labels


class Silencer:
    """Answers "is this alert muted at `at`?" from two queries per evaluation tick."""

    def __init__(self, silences: list, windows: list, at: datetime):
        self.at = at
        self.active = [s for s in silences if s.active_at(at)]
        self.active += [w for w in windows if w.active_at(at)]

    @classmethod
    def load(cls, at: datetime) -> Silencer:
        silences = list(Silence.objects.filter(starts_at__lte=at, ends_at__gt=at))
        windows = list(MaintenanceWindow.objects.filter(enabled=True))
        return cls(silences, windows, at)

    def silenced(self, rule, labels: Labels) -> bool:
        return any(matcher.matches(rule, labels) for matcher in self.active)
