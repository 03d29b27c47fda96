"""Reads for the data-quality pages, the overview card and the API."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.db.models import Avg, Count, Q, Sum
from django.urls import reverse

from dataquality.checks import get_check
from dataquality.models import Finding, Statement


@dataclass
class Summary:
    statements: int
    checked: int
    average: float | None
    critical: int
    issues: int
    good: int  # scoring 90 or more


def latest_statements(entity_id=None, statement_type=None):
    statements = Statement.objects.all()
    if entity_id:
        statements = statements.filter(entity_id=entity_id)
    if statement_type:
        statements = statements.filter(statement_type=statement_type)
    return statements


def summary(statements=None) -> Summary:
    statements = Statement.objects.all() if statements is None else statements
    figures = statements.aggregate(
        statements=Count("id"),
        checked=Count("latest_run"),
        average=Avg("latest_run__score"),
        critical=Sum("latest_run__critical"),
        issues=Sum("latest_run__issues"),
        good=Count("id", filter=Q(latest_run__score__gte=90)),
    )
    return Summary(
        statements=figures["statements"],
        checked=figures["checked"],
        average=figures["average"],
        critical=figures["critical"] or 0,
        issues=figures["issues"] or 0,
        good=figures["good"],
    )


def open_issues_by_check(statements) -> pd.DataFrame:
    rows = (
        Finding.objects.filter(
            run_id__in=statements.filter(latest_run__isnull=False).values("latest_run")
        )
        .values("check_key", "severity")
        .annotate(count=Count("id"))
    )
    frame = pd.DataFrame(list(rows), columns=["check_key", "severity", "count"])
    frame["check"] = [get_check(k).title if get_check(k) else k for k in frame["check_key"]]
    return frame


def score_css(score) -> str:
    if score is None:
        return ""
    return "good" if score >= 90 else "warning" if score >= 70 else "critical"


def statement_url(statement_id) -> str:
    """The statement's report page in the admin."""
    page = reverse("admin:dashboard", args=["data-quality-statement"])
    return f"{page}?statement={statement_id}"
