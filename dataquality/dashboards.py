"""Data-quality pages in the admin: the overview of all statements and one statement's report."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import pandas as pd
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse

from config import dashboards, display_time
from config.query_string import query_id
from config.tables import Column, Table
from dataquality import charts, history, queries
from dataquality.checks import REGISTRY, all_checks, get_check
from dataquality.models import Entity, LineItem, Severity, Statement

PERMISSION = "dataquality.view_dashboard"
TREND_ENTITIES = 8
# Statements listed on the page (worst first; the filters narrow them); the CSV has them all.
TABLE_ROWS = 50


def _fmt_score(value) -> str:
    return f"{value:.0f}"


def _fmt_time(value) -> str:
    return display_time.text(value)


def _month_by_default(request):
    """Scans run nightly: a month shows a trend, the frame's 24 h default would not."""
    if "range" in request.GET:
        return None
    query = request.GET.copy()
    query["range"] = "30d"
    return HttpResponseRedirect(f"?{query.urlencode()}")


@dataclass(frozen=True)
class Filters:
    """The page's filters, read strictly: a bad or repeated value is a 400 naming it."""

    entity_id: int | None = None
    statement_type: str | None = None
    check: str | None = None
    severity: str | None = None

    NAMES = ("entity", "type", "check", "severity")

    @classmethod
    def read(cls, query) -> tuple[Filters, dict[str, str]]:
        errors = {n: "Give this filter once." for n in cls.NAMES if len(query.getlist(n)) > 1}
        raw = {n: query.get(n, "") for n in cls.NAMES if n not in errors}
        entity_id = query_id(raw.get("entity"))
        if raw.get("entity") and entity_id is None:
            errors["entity"] = f"{raw['entity']!r} is not an entity id."
        choices = {
            "type": Statement.Type.values,
            "check": list(REGISTRY),
            "severity": Severity.values,
        }
        for name, allowed in choices.items():
            if raw.get(name) and raw[name] not in allowed:
                errors[name] = f"{raw[name]!r} is not one of {', '.join(allowed)}."
        if errors:
            return cls(), errors
        found = cls(entity_id, *(raw[n] or None for n in ("type", "check", "severity")))
        return found, {}

    def params(self) -> dict[str, str]:
        fields = [self.entity_id, self.statement_type, self.check, self.severity]
        values = zip(self.NAMES, fields, strict=True)
        return {name: str(value) for name, value in values if value}


@dashboards.page("data-quality", "Data quality", permission=PERMISSION, order=30)
def data_quality(request, ctx):
    redirect = _month_by_default(request)
    if redirect:
        return redirect
    filters, errors = Filters.read(request.GET)
    if errors:
        context = {
            "filters_html": _filters_html(filters),
            "filter_names": Filters.NAMES,
            "errors": sorted(errors.items()),
        }
        return ctx.render("dataquality/bad_filters.html", context, status=400)
    statements = queries.latest_statements(
        filters.entity_id, filters.statement_type, filters.check, filters.severity
    )
    exporting = bool(request.GET.get("export"))
    if exporting:  # the CSV needs the table only, with links that work outside the page
        base_url = request.build_absolute_uri("/").removesuffix("/")
        rows = queries.StatementRows(statements, base_url=base_url)
        return ctx.render("", tables=[_statements_table(rows)])
    found = queries.summary(statements)
    findings = queries.open_findings(statements, filters.check, filters.severity)
    rows = queries.StatementRows(statements, limit=TABLE_ROWS)
    context = {
        "filters_html": _filters_html(filters),
        "filter_names": Filters.NAMES,
        "cards": _cards(found),
        "figures": _figures(ctx.time_range, statements, filters.entity_id, findings),
        "recommendations": _recommendations(ctx, filters, findings),
        "filtered": bool(filters.params()),
        "shown_rows": len(rows),
        "total_rows": found.statements,
    }
    return ctx.render("dataquality/overview.html", context, tables=[_statements_table(rows)])


def _filters_html(filters: Filters) -> str:
    return render_to_string(
        "dataquality/_filters.html",
        {
            "entities": Entity.objects.order_by("name").values_list("id", "name"),
            "types": Statement.Type.choices,
            "checks": [(c.key, c.title) for c in all_checks()],
            "severities": Severity.choices,
            "filters": filters,
        },
    )


def _recommendations(ctx, filters: Filters, findings) -> list[dict]:
    """What to fix first (the e-mail report's list), each with a link to its statements."""
    page = reverse("admin:dashboard", args=["data-quality"])
    out = []
    for item in queries.recommendations(findings):
        query = {**ctx.time_range.params(), **filters.params(), "check": item["check_key"]}
        out.append({**item, "url": f"{page}?{urlencode(query)}"})
    return out


def _cards(found: queries.Summary) -> list[dashboards.Card]:
    if not found.checked:
        return [dashboards.Card("Average score", note="No statement has been checked yet.")]
    average = found.average
    status = "good" if average >= 90 else "warning" if average >= 70 else "critical"
    return [
        dashboards.Card("Average score", status, [("latest runs", f"{average:.1f}")]),
        dashboards.Card(
            "Critical issues",
            "critical" if found.critical else "good",
            [("open", str(found.critical))],
        ),
        dashboards.Card(
            "Total issues", "warning" if found.issues else "good", [("open", str(found.issues))]
        ),
        dashboards.Card(
            "Statements scoring ≥ 90",
            "good" if found.good == found.checked else "warning",
            [
                ("statements", f"{found.good} of {found.checked}"),
                ("share", f"{100 * found.good / found.checked:.0f} %"),
            ],
        ),
    ]


def _figures(time_range, statements, entity_id, findings) -> list:
    entity_ids = [entity_id] if entity_id else None
    runs = history.load_runs(time_range.start, time_range.end, entity_ids)
    runs = runs[runs["statement_id"].isin(statements.values_list("id", flat=True))]
    figures = []
    if not runs.empty:
        step = max(time_range.step_seconds, 3600)
        times = list(pd.date_range(time_range.start, time_range.end, freq=f"{step}s"))
        if times[-1] < time_range.end:  # the latest scan shows, whatever the step
            times.append(time_range.end)
        overall = history.trend(runs, times)
        worst = (
            history.as_of(runs, time_range.end)
            .groupby("entity")["score"]
            .mean()
            .nsmallest(TREND_ENTITIES)
            .index
        )
        per_entity = history.trend(runs[runs["entity"].isin(worst)], times, by="entity")
        title = "Average score over time (overall and the lowest-scoring entities)"
        figures.append(charts.score_trend(pd.concat([overall, per_entity]), title))
    issues = queries.open_issues_by_check(findings)
    if not issues.empty:
        figures.append(charts.issues_by_check(issues))
    return figures


def _label(text: str):
    """A link column's text on the page; its CSV cell is the link itself."""
    return lambda _url: text


def _statements_table(rows: queries.StatementRows) -> Table:
    return Table(
        "statements",
        "Statements (lowest score first)",
        [
            Column("statement", "Statement", link="url"),
            Column("entity", "Entity"),
            Column("type", "Type"),
            Column("period_end", "Period end"),
            Column("score", "Score", numeric=True, css="score_css"),
            Column("issues", "Issues", numeric=True),
            Column("critical", "Critical", numeric=True),
            Column("failing", "Failing checks"),
            Column("last_checked", "Last checked", format=_fmt_time),
            Column("url", "Details", format=_label("view details"), link="url"),
            Column("recheck_url", "Re-check", format=_label("re-check"), link="recheck_url"),
        ],
        rows=rows,
        empty="No statements yet: import some under Statements › Import statements.",
        streamed=True,
    )


@dashboards.page(
    "data-quality-statement", "Statement report", permission=PERMISSION, nav=False, order=31
)
def statement_report(request, ctx):
    redirect = _month_by_default(request)
    if redirect:
        return redirect
    raw = request.GET.get("statement", "")
    statement_id = query_id(raw)
    if statement_id is None:
        return HttpResponse(
            "Give the statement's id: ?statement=<id>.\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    statements = Statement.objects.select_related("entity", "latest_run")
    statement = statements.filter(pk=statement_id).first()
    if statement is None:
        raise Http404(f"No statement {raw}")
    run = statement.latest_run
    findings = list(run.findings.all()) if run else []
    runs = list(
        statement.runs.filter(
            created_at__gte=ctx.time_range.start, created_at__lt=ctx.time_range.end
        ).order_by("created_at", "id")
    )
    tables = [_findings_table(findings), _samples_table(findings), _runs_table(runs)]
    figures = []
    if runs:
        frame = pd.DataFrame(
            {"created_at": [r.created_at for r in runs], "score": [r.score for r in runs]}
        )
        figures.append(charts.score_history(frame))
    context = {
        "statement": statement,
        "run": run,
        "score_css": queries.score_css(run.score if run else None),
        "figures": figures,
        "crumbs": [("Data quality", reverse("admin:dashboard", args=["data-quality"]))],
        "title": str(statement),
        "line_items": statement.line_items.count(),
    }
    return ctx.render("dataquality/statement.html", context, tables=tables)


def _findings_table(findings) -> Table:
    return Table(
        "findings",
        "Findings of the latest run",
        [
            Column("check", "Check"),
            Column("severity", "Severity", css="severity_css"),
            Column("description", "Description"),
            Column("affected_rows", "Affected rows", numeric=True),
            Column("recommendation", "Recommendation"),
        ],
        rows=[
            {
                "check": get_check(f.check_key).title if get_check(f.check_key) else f.check_key,
                "severity": f.severity,
                "severity_css": {
                    "critical": "critical",
                    "high": "critical",
                    "medium": "warning",
                }.get(f.severity, ""),
                "description": f.description,
                "affected_rows": f.affected_rows,
                "recommendation": f.recommendation,
            }
            for f in findings
        ],
        empty="No findings: every check passed.",
    )


def _samples_table(findings) -> Table:
    flagged: dict[int, list[str]] = {}
    for finding in findings:
        for item_id in finding.sample_ids:
            flagged.setdefault(item_id, []).append(finding.check_key)
    items = LineItem.objects.filter(id__in=list(flagged)).order_by("id")
    return Table(
        "samples",
        "Sample rows",
        [
            Column("id", "Line item", link="url"),
            Column("metric", "Metric"),
            Column("category", "Category"),
            Column("period", "Period"),
            Column("value", "Value", numeric=True),
            Column("is_total", "Total"),
            Column("checks", "Flagged by"),
        ],
        rows=[
            {
                "id": item.pk,
                "url": reverse("admin:dataquality_lineitem_change", args=[item.pk]),
                "metric": item.metric,
                "category": item.category,
                "period": item.period.isoformat(),
                "value": item.value,
                "is_total": "yes" if item.is_total else "",
                "checks": ", ".join(
                    get_check(k).title if get_check(k) else k for k in flagged[item.pk]
                ),
            }
            for item in items
        ],
        empty="No sample rows.",
    )


def _runs_table(runs) -> Table:
    return Table(
        "runs",
        "Runs",
        [
            Column("created_at", "Checked at", format=_fmt_time),
            Column("score", "Score", numeric=True, css="score_css"),
            Column("issues", "Issues", numeric=True),
            Column("critical", "Critical", numeric=True),
            Column("run", "Run", link="url"),
        ],
        rows=[
            {
                "created_at": r.created_at,
                "score": r.score,
                "score_css": queries.score_css(r.score),
                "issues": r.issues,
                "critical": r.critical,
                "run": f"#{r.pk}",
                "url": reverse("admin:dataquality_run_change", args=[r.pk]),
            }
            for r in reversed(runs)
        ],
        empty="No run in this time range.",
    )


@dashboards.card("dataquality", "Data quality", permission="core.view_overview", order=30)
def overview_card(request, time_range):
    found = queries.summary()
    if not found.checked:
        return None
    average = found.average
    if found.critical or average < 70:
        status = "critical"
    elif average < 90:
        status = "warning"
    else:
        status = "good"
    link = None
    if request.user.has_perm(PERMISSION):
        link = reverse("admin:dashboard", args=["data-quality"])
    return dashboards.Card(
        "Data quality",
        status,
        [("average score", f"{average:.1f}"), ("critical issues open", str(found.critical))],
        link=link,
        note=f"{found.checked} statement(s) checked",
    )
