from __future__ import annotations

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from alerts import sources, states
from alerts.sources import Query
from alerts.states import Condition

MAX_WINDOW_MINUTES = 7 * 24 * 60


class Operator(models.TextChoices):
    GT = "gt", ">"
    GE = "ge", "≥"
    LT = "lt", "<"
    LE = "le", "≤"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class NoData(models.TextChoices):
    """What a rule does when its source has no data for a label set (Grafana's choice)."""

    SOURCE_DEFAULT = "", "The source's default"
    KEEP = states.KEEP, "Keep the last state"
    RESOLVE = states.RESOLVE, "Resolve"
    ALERT = states.ALERT, "Alert as “no data”"


SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class Rule(models.Model):
    """A condition on a metric source, and who to tell when it holds."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    runbook_url = models.URLField("runbook link", max_length=500, blank=True)
    source = models.CharField(max_length=100, help_text="The metric source key.")
    aggregation = models.CharField(max_length=20)
    # Required parameters and label filters of the source, e.g. {"vital": "LCP"}.
    filters = models.JSONField(default=dict, blank=True)
    # Labels to split by: one alert per label set, e.g. ["route"].
    group_by = models.JSONField(default=list, blank=True)
    window_minutes = models.PositiveIntegerField(
        "window (minutes)",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WINDOW_MINUTES)],
        help_text="The metric is aggregated over this many minutes before each evaluation.",
    )
    operator = models.CharField(max_length=2, choices=Operator.choices, default=Operator.GT)
    threshold = models.FloatField()
    resolve_threshold = models.FloatField(
        blank=True,
        null=True,
        help_text="Hysteresis: once firing, the alert resolves only past this value "
        "(empty: the threshold itself).",
    )
    for_minutes = models.PositiveIntegerField(
        "for (minutes)",
        default=0,
        validators=[MaxValueValidator(MAX_WINDOW_MINUTES)],
        help_text="The condition must hold this long (pending) before the alert fires.",
    )
    no_data = models.CharField(
        "when there is no data",
        max_length=10,
        choices=NoData.choices,
        blank=True,
        default=NoData.SOURCE_DEFAULT,
        help_text="Keep the state, resolve, or alert as “no data” when the source answers "
        "nothing for a label set.",
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    channels = models.ManyToManyField("alerts.Channel", blank=True, related_name="rules")
    repeat_minutes = models.PositiveIntegerField(
        "repeat every (minutes)",
        blank=True,
        null=True,
        validators=[MinValueValidator(1)],
        help_text="Notify again while firing and unacknowledged (empty: never).",
    )
    escalate_after_minutes = models.PositiveIntegerField(
        "escalate after (minutes)",
        blank=True,
        null=True,
        validators=[MinValueValidator(1)],
        help_text="Unacknowledged this long after the first notification: "
        "notify the escalation channels.",
    )
    escalation_channels = models.ManyToManyField(
        "alerts.Channel", blank=True, related_name="escalating_rules"
    )
    message = models.TextField(
        blank=True,
        help_text="Optional summary template, e.g. "
        "“{{ rule }} is {{ value }} ms on {{ labels.route }}”. Empty: a standard summary.",
    )
    enabled = models.BooleanField(default=False)
    # The outcome of the latest evaluation, written only when it changes.
    eval_status = models.CharField("evaluation", max_length=300, blank=True)
    eval_status_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def query(self) -> Query:
        # The form only saves these shapes; a rule written another way is reported, not run.
        if not isinstance(self.filters or {}, dict):
            raise ValueError("filters must be an object of label: value")
        if not isinstance(self.group_by or [], list):
            raise ValueError("split by must be a list of labels")
        return Query.build(
            self.aggregation,
            timedelta(minutes=self.window_minutes),
            {str(k): str(v) for k, v in (self.filters or {}).items()},
            [str(name) for name in self.group_by or []],
        )

    def condition(self) -> Condition:
        return Condition(
            self.operator,
            self.threshold,
            self.resolve_threshold,
            timedelta(minutes=self.for_minutes),
            self.no_data_policy,
        )

    @property
    def no_data_policy(self) -> str:
        """The rule's own choice, or its source's default (keep when the source is gone)."""
        if self.no_data:
            return self.no_data
        try:
            return sources.get_source(self.source).no_data
        except sources.SourceError:
            return states.KEEP

    @property
    def condition_text(self) -> str:
        """e.g. "p95 over 5 min > 2000 for 5 min; resolves past 1500"."""
        text = (
            f"{self.aggregation} over {self.window_minutes} min "
            f"{self.get_operator_display()} {self.threshold:g}"
        )
        if self.for_minutes:
            text += f" for {self.for_minutes} min"
        if self.resolve_threshold is not None:
            text += f"; resolves past {self.resolve_threshold:g}"
        return text


class AlertsDashboard(models.Model):
    """No table: carries the permission to see the alerts dashboard and API."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the alerts dashboard")]

    def __str__(self):
        return "Alerts dashboard"
