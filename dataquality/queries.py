"""Reads for the data-quality pages, the overview card and the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
from django.db.models import Avg, Case, Count, Exists, IntegerField, OuterRef, Q, Sum, Value, When
from django.urls import reverse

from dataquality.checks import get_check
from dataquality.models import PENALTIES, Finding, Statement

# Recommendations shown (e-mail and dashboard): the checks costing the most points.
RECOMMENDATIONS = 5


@dataclass
class Summary:
    statements: int
    checked: int
    average: float | None
    critical: int
    issues: int
    good: int  # scoring 90 or more


def latest_statements(entity_id=None, statement_type=None, check=None, severity=None):
    """Statements, narrowed to those whose latest run has a finding of `check` and/or
    `severity` (one finding matching both when both are given)."""
    statements = Statement.objects.all()
    if entity_id:
        statements = statements.filter(entity_id=entity_id)
    if statement_type:
        statements = statements.filter(statement_type=statement_type)
    if check or severity:
        matching = _matching(
            Finding.objects.filter(run_id=OuterRef("latest_run_id")), check, severity
        )
        statements = statements.filter(Exists(matching))
    return statements


def _matching(findings, check=None, severity=None):
    if check:
        findings = findings.filter(check_key=check)
    if severity:
        findings = findings.filter(severity=severity)
    return findings


def open_findings(statements, check=None, severity=None):
    """The findings of the statements' latest runs (those of `check`/`severity` only)."""
    runs = statements.filter(latest_run__isnull=False).values("latest_run")
    return _matching(Finding.objects.filter(run_id__in=runs), check, severity)


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


def open_issues_by_check(findings) -> pd.DataFrame:
    """`findings`: a Finding queryset (e.g. `open_findings(...)`)."""
    rows = findings.order_by().values("check_key", "severity").annotate(count=Count("id"))
    frame = pd.DataFrame(list(rows), columns=["check_key", "severity", "count"])
    frame["check"] = [check_title(k) for k in frame["check_key"]]
    return frame


def score_css(score) -> str:
    if score is None:
        return ""
    return "good" if score >= 90 else "warning" if score >= 70 else "critical"


def statement_url(statement_id) -> str:
    """The statement's report page in the admin."""
    page = reverse("admin:dashboard", args=["data-quality-statement"])
    return f"{page}?statement={statement_id}"


def recommendations(findings, limit: int = RECOMMENDATIONS) -> list[dict]:
    """One line per check with open findings, the most costly (score points) first.

    `findings`: a Finding queryset. Each line: check (title), check_key, statements
    (how many have such a finding), points (the score points those findings cost) and
    the check's recommendation.
    """
    penalty = Case(
        *(When(severity=severity, then=Value(points)) for severity, points in PENALTIES.items()),
        default=Value(0),
        output_field=IntegerField(),
    )
    ranked = (
        findings.order_by()
        .values("check_key")
        .annotate(statements=Count("statement_id", distinct=True), points=Sum(penalty))
        .order_by("-points", "-statements", "check_key")[:limit]
    )
    out = []
    for row in ranked:
        check = get_check(row["check_key"])
        out.append(
            {
                "check": check.title if check else row["check_key"],
                "check_key": row["check_key"],
                "statements": row["statements"],
                "points": row["points"],
                "text": check.recommendation if check else "",
            }
        )
    return out


def check_title(key: str) -> str:
    check = get_check(key)
    return check.title if check else key


def failing_checks(run_ids) -> dict[int, list[str]]:
    """The titles of the checks with findings in each run, most costly finding first."""
    rows = (
        Finding.objects.filter(run_id__in=[r for r in run_ids if r is not None])
        .order_by()
        .values_list("run_id", "check_key", "severity")
    )
    worst: dict[int, dict[str, int]] = {}
    for run_id, key, severity in rows:
        checks = worst.setdefault(run_id, {})
        checks[key] = max(checks.get(key, 0), PENALTIES.get(severity, 0))
    return {
        run_id: [check_title(k) for k, _ in sorted(checks.items(), key=lambda kv: (-kv[1], kv[0]))]
        for run_id, checks in worst.items()
    }


# Statements read per query when listing or exporting (memory stays flat at 20,000).
CHUNK = 2000
ROW_FIELDS = [
    "id",
    "entity__name",
    "statement_type",
    "period_end",
    "latest_run_id",
    "latest_run__score",
    "latest_run__issues",
    "latest_run__critical",
    "latest_run__created_at",
]


class StatementRows:
    """The statements table's rows, worst score first, read `CHUNK` statements at a time.

    Sized (the page says "n of m", the audit trail counts an export) and re-iterable;
    rows are plain dicts (no model instances, one URL pattern per column, not a reverse()
    per row), read in one query that streams (a server-side cursor on PostgreSQL), so
    20,000 rows go out as CSV in a few seconds and never all sit in memory.
    """

    def __init__(self, statements, limit: int | None = None, base_url: str = ""):
        ordered = statements.order_by("latest_run__score", "entity__name", "-period_end", "id")
        self.query = ordered.values(*ROW_FIELDS)
        if limit is not None:
            self.query = self.query[:limit]
        self.base_url = base_url
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.query.count()
        return self._count

    def __iter__(self) -> Iterator[dict]:
        batch: list[dict] = []
        for row in self.query.iterator(chunk_size=CHUNK):
            batch.append(row)
            if len(batch) == CHUNK:
                yield from self._rows(batch)
                batch = []
        yield from self._rows(batch)

    def _rows(self, batch: list[dict]) -> Iterator[dict]:
        types = dict(Statement.Type.choices)
        report = self.base_url + statement_url("")
        recheck = self.base_url + reverse("admin:dataquality_statement_recheck", args=[0])
        recheck_before, recheck_after = recheck.split("/0/", 1)
        checks = failing_checks(row["latest_run_id"] for row in batch)
        for row in batch:
            statement_id = row["id"]
            kind = types.get(row["statement_type"], row["statement_type"])
            score = row["latest_run__score"]
            yield {
                "id": statement_id,
                "statement": Statement.label(row["entity__name"], kind, row["period_end"]),
                "url": f"{report}{statement_id}",
                "entity": row["entity__name"],
                "type": kind,
                "period_end": row["period_end"].isoformat(),
                "score": score,
                "score_css": score_css(score),
                "issues": row["latest_run__issues"],
                "critical": row["latest_run__critical"],
                "failing": ", ".join(checks.get(row["latest_run_id"], [])),
                "last_checked": row["latest_run__created_at"],
                "recheck_url": f"{recheck_before}/{statement_id}/{recheck_after}",
            }
