"""Scheduled email reports: what changed in data quality, for the entities a team owns."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from dataquality.history import as_of, load_runs
from dataquality.models import (
    Finding,
    ReportDelivery,
    ReportSubscription,
    Statement,
)
from dataquality.queries import recommendations

log = logging.getLogger(__name__)
PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
NEW_CRITICAL_SHOWN = 20


def parse_recipients(text: str) -> list[str]:
    return [a for a in re.split(r"[\s,;]+", text or "") if a]


@dataclass
class Report:
    title: str
    start: datetime
    end: datetime
    statements: int = 0
    average: float | None = None
    average_before: float | None = None
    critical_open: int = 0
    issues_open: int = 0
    new_critical: list[dict] = field(default_factory=list)
    new_critical_total: int = 0
    worst: list[dict] = field(default_factory=list)
    recommendations: list[dict] = field(default_factory=list)
    dashboard_url: str = ""

    @property
    def change(self) -> float | None:
        if self.average is None or self.average_before is None:
            return None
        return self.average - self.average_before


def build_report(subscription: ReportSubscription, now: datetime | None = None) -> Report:
    now = now or timezone.now()
    start = now - PERIODS[subscription.frequency]
    entity_ids = list(subscription.entities.values_list("id", flat=True))
    runs = load_runs(start, now + timedelta(microseconds=1), entity_ids)
    report = Report(
        subscription.name,
        start,
        now,
        dashboard_url=_url(reverse("admin:dashboard", args=["data-quality"])),
    )
    current, before = as_of(runs, now + timedelta(microseconds=1)), as_of(runs, start)
    if current.empty:
        return report
    report.statements = len(current)
    report.average = float(current["score"].mean())
    report.average_before = float(before["score"].mean()) if not before.empty else None
    report.critical_open = int(current["critical"].sum())
    report.issues_open = int(current["issues"].sum())
    open_findings = list(
        Finding.objects.filter(run_id__in=current["run_id"].tolist()).values(
            "statement_id", "check_key", "severity", "description", "created_at"
        )
    )
    was_critical = set(
        Finding.objects.filter(
            run_id__in=before["run_id"].tolist(), severity="critical"
        ).values_list("statement_id", "check_key")
    )
    new = [
        f
        for f in open_findings
        if f["severity"] == "critical" and (f["statement_id"], f["check_key"]) not in was_critical
    ]
    report.new_critical_total = len(new)
    new = new[:NEW_CRITICAL_SHOWN]
    worst = current.sort_values(["score", "critical"], ascending=[True, False])
    worst = worst[worst["score"] < 100].head(settings.DATAQUALITY_REPORT_WORST)
    names = _statement_names([f["statement_id"] for f in new] + worst["statement_id"].tolist())
    report.new_critical = [
        {**f, "statement": names[f["statement_id"]], "url": _statement_url(f["statement_id"])}
        for f in new
    ]
    report.worst = [
        {
            "statement": names[row.statement_id],
            "score": int(row.score),
            "issues": int(row.issues),
            "critical": int(row.critical),
            "url": _statement_url(row.statement_id),
        }
        for row in worst.itertuples()
    ]
    report.recommendations = recommendations(
        Finding.objects.filter(run_id__in=current["run_id"].tolist())
    )
    return report


def _statement_names(ids: list[int]) -> dict[int, str]:
    return {s.pk: str(s) for s in Statement.objects.filter(id__in=ids).select_related("entity")}


def _url(path: str) -> str:
    return settings.SITE_URL + path


def _statement_url(statement_id: int) -> str:
    return _url(
        reverse("admin:dashboard", args=["data-quality-statement"]) + f"?statement={statement_id}"
    )


def period_key(subscription: ReportSubscription, now: datetime) -> str:
    if subscription.frequency == ReportSubscription.Frequency.DAILY:
        return now.date().isoformat()
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def render_email(report: Report) -> tuple[str, str, str]:
    context = {"report": report}
    subject = f"Data quality report: {report.title}"
    if report.average is not None:
        subject += f" (average score {report.average:.0f})"
    text = render_to_string("dataquality/email/report.txt", context)
    html = render_to_string("dataquality/email/report.html", context)
    return subject, text, html


def send_report(
    subscription: ReportSubscription, now: datetime | None = None, force: bool = False
) -> ReportDelivery:
    """Send the report once per period (again when `force`); the delivery records the outcome."""
    now = now or timezone.now()
    key = f"manual-{now:%Y%m%d%H%M%S%f}" if force else period_key(subscription, now)
    recipients = parse_recipients(subscription.recipients)
    try:
        with transaction.atomic():
            delivery, _ = ReportDelivery.objects.get_or_create(
                subscription=subscription,
                period_key=key,
                defaults={"recipients": ", ".join(recipients), "sent_at": now},
            )
    except IntegrityError:  # another worker created it first
        return ReportDelivery.objects.get(subscription=subscription, period_key=key)
    if delivery.ok:
        return delivery
    subject, text, html = render_email(build_report(subscription, now))
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception as exc:  # SMTP errors come in many types; the delivery row keeps it
        log.warning("data quality report %s failed: %s", subscription, exc)
        delivery.error = f"{type(exc).__name__}: {exc}"
        delivery.ok = False
    else:
        delivery.ok, delivery.error = True, ""
        subscription.last_sent_at = now
        subscription.save(update_fields=["last_sent_at"])
    delivery.subject, delivery.sent_at = subject, now
    delivery.save()
    return delivery


def send_due_reports(now: datetime | None = None) -> list[ReportDelivery]:
    """Every active subscription without a successful delivery for its current period."""
    now = now or timezone.now()
    sent = []
    for subscription in ReportSubscription.objects.filter(active=True):
        key = period_key(subscription, now)
        if subscription.deliveries.filter(period_key=key, ok=True).exists():
            continue
        sent.append(send_report(subscription, now))
    return sent
