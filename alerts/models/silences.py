from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from alerts.models.rules import Severity
from alerts.sources import Labels
from config import display_time

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def validate_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{name!r} is not a time zone, e.g. Europe/Berlin or UTC") from None


class Matchers(models.Model):
    """Which alerts a silence or window covers: every given matcher must match."""

    rule = models.ForeignKey(
        "alerts.Rule",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text="Empty: every rule.",
    )
    severity = models.CharField(
        max_length=10, choices=Severity.choices, blank=True, help_text="Empty: every severity."
    )
    labels = models.JSONField(
        default=dict, blank=True, help_text="Label values the alert must have (empty: any)."
    )

    class Meta:
        abstract = True

    def matches(self, rule, labels: Labels) -> bool:
        if self.rule_id is not None and self.rule_id != rule.pk:
            return False
        if self.severity and self.severity != rule.severity:
            return False
        have = dict(labels)
        return all(have.get(str(k)) == str(v) for k, v in (self.labels or {}).items())

    @property
    def matchers_text(self) -> str:
        parts = []
        if self.rule_id:
            parts.append(f"rule “{self.rule}”")
        if self.severity:
            parts.append(f"severity {self.get_severity_display().lower()}")
        parts += [f"{k}={v}" for k, v in (self.labels or {}).items()]
        return ", ".join(parts) or "all alerts"


class Silence(Matchers):
    """Mute matching alerts between two times; they still change state."""

    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self):
        return f"Silence of {self.matchers_text} until {display_time.text(self.ends_at)}"

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})

    def active_at(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


class MaintenanceWindow(Matchers):
    """A recurring silence: on these weekdays, between these local times."""

    name = models.CharField(max_length=200)
    weekdays = models.JSONField(default=list, help_text="0 = Monday … 6 = Sunday.")
    start_time = models.TimeField()
    end_time = models.TimeField(
        help_text="Before the start time: the window runs past midnight. Equal: all day."
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    enabled = models.BooleanField(default=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def schedule_text(self) -> str:
        days = ", ".join(WEEKDAYS[d] for d in sorted(self.weekdays or []))
        return f"{days} {self.start_time:%H:%M}–{self.end_time:%H:%M} {self.time_zone}"

    def active_at(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.time_zone))
        days = set(self.weekdays or [])
        now = local.time()
        if self.start_time == self.end_time:
            return local.weekday() in days
        if self.start_time < self.end_time:
            return local.weekday() in days and self.start_time <= now < self.end_time
        # Past midnight: the evening of a listed day, or the early hours after one.
        yesterday = (local - timedelta(days=1)).weekday()
        return (local.weekday() in days and now >= self.start_time) or (
            yesterday in days and now < self.end_time
        )
