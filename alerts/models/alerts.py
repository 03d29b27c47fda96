from __future__ import annotations

from django.db import models

from alerts import states
from alerts.sources import Labels
from config import display_time


class AlertState(models.TextChoices):
    PENDING = states.PENDING, "Pending"
    FIRING = states.FIRING, "Firing"
    RESOLVED = states.RESOLVED, "Resolved"
    # Pending, then the condition cleared before `for` elapsed: it never fired.
    CLEARED = states.INACTIVE, "Cleared"


OPEN_STATES = (AlertState.PENDING, AlertState.FIRING)


def labels_key(labels: Labels) -> str:
    """A stable text key of a label set: `name=value,name=value`, '' for the whole metric."""
    return ",".join(f"{name}={value}" for name, value in labels)


class Alert(models.Model):
    """One incident of a rule for one label set, from pending to resolved."""

    rule = models.ForeignKey("alerts.Rule", on_delete=models.CASCADE, related_name="alerts")
    labels = models.JSONField(default=dict, blank=True)
    labels_key = models.CharField(max_length=1000, blank=True)
    state = models.CharField(max_length=10, choices=AlertState.choices)
    value = models.FloatField(null=True, blank=True, help_text="The latest value seen.")
    started_at = models.DateTimeField(help_text="When the condition first held.")
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField()
    # Set while the source answers nothing for this label set: the state is kept.
    no_data_since = models.DateTimeField(null=True, blank=True)
    silenced = models.BooleanField(default=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    # Notification bookkeeping: the first firing message, the latest one, repeats sent.
    notified_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    repeats = models.PositiveIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "labels_key"],
                condition=models.Q(state__in=["pending", "firing"]),
                name="alerts_one_open_alert_per_label_set",
            )
        ]
        indexes = [
            models.Index(fields=["state"], name="alerts_alert_state"),
            models.Index(fields=["fired_at"], name="alerts_alert_fired_at"),
        ]

    def __str__(self):
        where = f" {{{self.labels_key}}}" if self.labels_key else ""
        return f"{self.rule}{where}"

    @property
    def label_set(self) -> Labels:
        return tuple(sorted((str(k), str(v)) for k, v in (self.labels or {}).items()))

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def track(self) -> states.Track:
        since = self.fired_at if self.state == AlertState.FIRING else self.started_at
        return states.Track(self.state, since)


class AlertEvent(models.Model):
    """A transition of an alert, with the value that caused it: the alert's timeline."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    previous = models.CharField(max_length=10)
    state = models.CharField(max_length=10)
    value = models.FloatField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.previous} → {self.state} at {display_time.text(self.at)}"
