"""Data-quality pages in the admin: the overview of all statements and one statement's report."""

from __future__ import annotations

import pandas as pd
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse

from config import dashboards, display_time
from config.query_string import query_id
from config.tables import Column, Table
from dataquality import charts, history, queries
from dataquality.checks import get_check
from dataquality.models import Entity, LineItem, Statement

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


@dashboards.page("data-quality", "Data quality", permission=PERMISSION, order=30)
def data_quality(request, ctx):
    redirect = _month_by_default(request)
    if redirect:
        return redirect
    entity_id, statement_type, error = _filters(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    statements = queries.latest_statements(entity_id, statement_type)
    found = queries.summary(statements)
    table = _statements_table(statements, exporting=bool(request.GET.get("export")))
    context = {
        "cards": _cards(found),
        "figures": _figures(ctx.time_range, statements, entity_id),
        "filters_html": render_to_string(
            "dataquality/_filters.html",
            {
                "entities": Entity.objects.order_by("name").values_list("id", "name"),
                "types": Statement.Type.choices,
                "entity_id": entity_id,
                "statement_type": statement_type,
            },
        ),
        "shown_rows": min(found.statements, TABLE_ROWS),
        "total_rows": found.statements,
    }
    return ctx.render("dataquality/overview.html", context, tables=[table])


def _filters(request):
    raw_entity = request.GET.get("entity", "")
    statement_type = request.GET.get("type", "") or None
    entity_id = None
    if raw_entity:
        entity_id = query_id(raw_entity)
        if entity_id is None:
            return None, None, f"entity must be an entity id, not {raw_entity!r}.\n"
    if statement_type and statement_type not in Statement.Type.values:
        return None, None, f"type must be one of {', '.join(Statement.Type.values)}.\n"
    return entity_id, statement_type, None


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


def _figures(time_range, statements, entity_id) -> list:
    entity_ids = [entity_id] if entity_id else None
    runs = history.load_runs(time_range.start, time_range.end, entity_ids)
    runs = runs[runs["statement_id"].isin(statements.values_list("id", flat=True))]
    figures = []
    if not runs.empty:
        step = max(time_range.step_seconds, 3600)
        times = pd.date_range(time_range.start, time_range.end, freq=f"{step}s")
        overall = history.trend(runs, list(times))
        worst = (
            history.as_of(runs, time_range.end)
            .groupby("entity")["score"]
            .mean()
            .nsmallest(TREND_ENTITIES)
            .index
        )
        per_entity = history.trend(runs[runs["entity"].isin(worst)], list(times), by="entity")
        title = "Average score over time (overall and the lowest-scoring entities)"
        figures.append(charts.score_trend(pd.concat([overall, per_entity]), title))
    issues = queries.open_issues_by_check(statements)
    if not issues.empty:
        figures.append(charts.issues_by_check(issues))
    return figures


def _statements_table(statements, exporting: bool) -> Table:
    rows = statements.select_related("entity", "latest_run").order_by(
        "latest_run__score", "entity__name", "-period_end"
    )
    if not exporting:
        rows = rows[:TABLE_ROWS]
    recheck = "admin:dataquality_statement_recheck"
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
            Column("last_checked", "Last checked", format=_fmt_time),
            Column("details", "Details", link="url"),
            Column("recheck", "Re-check", link="recheck_url"),
        ],
        rows=[
            {
                "statement": str(s),
                "url": queries.statement_url(s.pk),
                "entity": s.entity.name,
                "type": s.get_statement_type_display(),
                "period_end": s.period_end.isoformat(),
                "score": s.latest_run.score if s.latest_run else None,
                "score_css": queries.score_css(s.latest_run.score if s.latest_run else None),
                "issues": s.latest_run.issues if s.latest_run else None,
                "critical": s.latest_run.critical if s.latest_run else None,
                "last_checked": s.latest_run.created_at if s.latest_run else None,
                "details": "view details",
                "recheck": "re-check",
                "recheck_url": reverse(recheck, args=[s.pk]),
            }
            for s in rows
        ],
        empty="No statements yet: import some under Statements › Import statements.",
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
