"""The Security page's figure: events over time, stacked by kind (pure, no ORM)."""

from __future__ import annotations

import plotly.graph_objects as go

from security import models

COLOURS = {
    models.LOGIN: "#198754",
    models.LOGIN_FAILED: "#fd7e14",
    models.LOCKOUT: "#dc3545",
    models.PERMISSION_DENIED: "#6f42c1",
    models.LOGOUT: "#adb5bd",
    models.TOKEN_USED: "#0dcaf0",
    models.TOKEN_REJECTED: "#d63384",
    models.SUPERUSER_GRANTED: "#b02a37",
    models.PASSWORD_CHANGED: "#0d6efd",
    models.USER_CREATED: "#20c997",
}
LABELS = dict(models.KINDS)


def events_figure(rows: list[dict], start, end) -> go.Figure:
    """rows: at (aware, bucket start in TIME_ZONE), kind, count."""
    fig = go.Figure()
    by_kind: dict[str, list[dict]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    for kind, _ in models.KINDS:
        points = by_kind.get(kind)
        if not points:
            continue
        fig.add_trace(
            go.Bar(
                x=[p["at"] for p in points],
                y=[p["count"] for p in points],
                name=LABELS[kind],
                marker_color=COLOURS.get(kind, "#6c757d"),
            )
        )
    fig.update_xaxes(type="date", range=[start, end])
    fig.update_layout(
        title="Security events",
        barmode="stack",
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        height=360,
        legend={"orientation": "h", "y": -0.15},
        yaxis_title="events",
        hovermode="x unified",
    )
    return fig
