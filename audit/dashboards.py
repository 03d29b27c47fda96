"""The *Audit log* page: who changed what, when and from where, filtered and exportable."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse

from audit import queries
from audit.text import changes_text, detail_text, when
from config import dashboards
from config.tables import Column, Table

PERMISSION = "audit.view_auditentry"


@dashboards.page("audit", "Audit log", permission=PERMISSION, order=90)
def audit_log(request, ctx):
    filters = queries.Filters.from_query(request.GET)
    rows = list(queries.entries(ctx.time_range.start, ctx.time_range.end, filters))
    context = {
        "filters_html": render_to_string(
            "audit/_filters.html",
            {
                "filters": filters,
                "users": queries.choices("username"),
                "models": queries.choices("model"),
                "actions": queries.choices("action"),
            },
        ),
        "limited": len(rows) >= queries.MAX_ROWS,
        "max_rows": queries.MAX_ROWS,
    }
    return ctx.render("audit/log.html", context, tables=[_table(rows)])


def _table(rows) -> Table:
    return Table(
        name="entries",
        title="Audit log",
        columns=[
            Column("when", "When"),
            Column("user", "User"),
            Column("address", "Client address"),
            Column("source", "From"),
            Column("action", "Action"),
            Column("model", "Model"),
            Column("object", "Object", link="url"),
            Column("changes", "Changes (before -> after)"),
            Column("detail", "Detail"),
        ],
        rows=[
            {
                "when": when(entry.at),
                "user": entry.username or "system",
                "address": entry.address,
                "source": entry.source,
                "action": entry.action,
                "model": entry.model,
                "object": entry.object_repr or entry.object_id,
                "changes": changes_text(entry.changes),
                "detail": detail_text(entry.detail),
                "url": reverse("admin:audit_auditentry_change", args=[entry.pk]),
            }
            for entry in rows
        ],
        empty="Nothing recorded in this range.",
    )
