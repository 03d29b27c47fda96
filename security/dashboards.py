"""The Security page and the overview card."""

from __future__ import annotations

from django.urls import reverse

from config import dashboards, display_time
from config.tables import Column, Table
from security import models, queries
from security.lockout import current_lockouts

PERMISSION = "security.view_dashboard"


def _when(value) -> str | None:
    """Local time as text, in the cell and in the CSV alike (a person reads both)."""
    return display_time.text(value, seconds=True) if value else None


@dashboards.page("security", "Security", permission=PERMISSION, order=60)
def security_page(request, ctx):
    from security import charts  # Plotly loads on first use, not at start-up

    start, end = ctx.time_range.start, ctx.time_range.end
    counts = queries.counts_by_kind(start, end)
    lockouts = current_lockouts()
    tables = [
        _failed_table("failed_by_username", "Failed logins by username", "Username",
                      queries.failed_logins_by("username", start, end)),
        _failed_table("failed_by_address", "Failed logins by address", "Address",
                      queries.failed_logins_by("address", start, end)),
        _lockouts_table(lockouts),
        _events_table(queries.recent(start, end)),
    ]  # fmt: skip
    rows = queries.over_time(start, end)
    context = {
        "cards": [_summary_card(counts, lockouts)],
        "figures": [charts.events_figure(rows, start, end)] if rows else [],
    }
    return ctx.render("dashboards/generic.html", context, tables=tables)


def _summary_card(counts: dict[str, int], lockouts: list[dict]) -> dashboards.Card:
    failed = counts.get(models.LOGIN_FAILED, 0)
    return dashboards.Card(
        "In this range",
        "warning" if lockouts else "good",
        metrics=[
            ("Logins", str(counts.get(models.LOGIN, 0))),
            ("Failed logins", str(failed)),
            ("Lockouts", str(counts.get(models.LOCKOUT, 0))),
            ("Locked now", str(len(lockouts))),
            ("Denied (403)", str(counts.get(models.PERMISSION_DENIED, 0))),
            ("New superusers", str(counts.get(models.SUPERUSER_GRANTED, 0))),
        ],
    )


def _failed_table(name: str, title: str, who: str, rows: list[dict]) -> Table:
    columns = [
        Column("who", who),
        Column("failures", "Failed logins", numeric=True),
        Column("last", "Last"),
    ]
    rows = [{**row, "last": _when(row["last"])} for row in rows]
    return Table(name, title, columns, rows, empty="No failed login in this range.")


def _lockouts_table(lockouts: list[dict]) -> Table:
    unlock = reverse("admin:axes_accessattempt_changelist")
    rows = [
        {**row, "last": _when(row["last"]), "until": _when(row["until"]),
         "unlock": f"{unlock}?q={row['who']}"}
        for row in lockouts
    ]  # fmt: skip
    columns = [
        Column("by", "Locked by"),
        Column("who", "Username or address", link="unlock"),
        Column("failures", "Failures", numeric=True),
        Column("last", "Last failure"),
        Column("until", "Locked until"),
    ]
    return Table("lockouts", "Current lockouts", columns, rows, empty="Nobody is locked out.")


def _events_table(events) -> Table:
    labels = dict(models.KINDS)
    classes = dict(models.USER_AGENT_CLASSES)
    rows = [
        {
            "at": _when(event.at),
            "kind": labels.get(event.kind, event.kind),
            "user": event.user.get_username() if event.user else None,
            "username": event.username or None,
            "subject": event.subject or None,
            "address": event.address,
            "client": classes.get(event.user_agent_class, event.user_agent_class),
            "path": event.path or None,
            "detail": event.detail or None,
        }
        for event in events
    ]
    columns = [
        Column("at", "Time"),
        Column("kind", "Event"),
        Column("user", "User"),
        Column("username", "Username"),
        Column("subject", "Subject"),
        Column("address", "Address"),
        Column("client", "Client"),
        Column("path", "Path"),
        Column("detail", "Detail"),
    ]
    return Table(
        "events",
        f"Recent events (latest {queries.RECENT_LIMIT})",
        columns,
        rows,
        empty="No security event in this range.",
    )


@dashboards.card("security", "Security", permission=PERMISSION, order=60)
def overview_card(request, time_range):
    counts = queries.counts_by_kind(time_range.start, time_range.end)
    lockouts = current_lockouts()
    if not counts and not lockouts:
        return None
    failed = counts.get(models.LOGIN_FAILED, 0)
    note = f"{len(lockouts)} locked out now." if lockouts else "Nobody is locked out."
    return dashboards.Card(
        "Security",
        "warning" if lockouts else "good",
        metrics=[
            ("Logins", str(counts.get(models.LOGIN, 0))),
            ("Failed logins", str(failed)),
            ("Lockouts", str(counts.get(models.LOCKOUT, 0))),
        ],
        link=reverse("admin:dashboard", args=["security"]),
        note=note,
    )
