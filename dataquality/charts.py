"""Figures for the data-quality pages: DataFrame in, Plotly figure out (pure)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

SEVERITY_COLOURS = {
    "critical": "#dc3545",
    "high": "#fd7e14",
    "medium": "#e0a800",
    "low": "#6c757d",
}
LAYOUT = {
    "margin": {"l": 50, "r": 20, "t": 50, "b": 40},
    "height": 340,
    "legend": {"orientation": "h", "y": -0.2},
}


def _bands(figure: go.Figure, lowest: float) -> None:
    """Shade the score bands (below 70, 70-90, 90 and up); zoom on the scores shown."""
    for low, high, colour in [(0, 70, "#dc3545"), (70, 90, "#e0a800"), (90, 100, "#198754")]:
        figure.add_hrect(y0=low, y1=high, fillcolor=colour, opacity=0.08, line_width=0)
    bottom = 0 if pd.isna(lowest) else max(0, (int(lowest) // 10 - 1) * 10)
    figure.update_yaxes(range=[bottom, 101], title="score")


def score_trend(frame: pd.DataFrame, title: str = "Average score over time") -> go.Figure:
    """`frame`: time, group ("all" for the overall line, else an entity), score."""
    figure = go.Figure()
    for group, rows in frame.groupby("group", sort=False):
        overall = group == "all"
        figure.add_trace(
            go.Scatter(
                x=rows["time"],
                y=rows["score"].round(1),
                name="All statements" if overall else str(group),
                # Markers as well as lines: after the first scan there is one point,
                # which a line alone does not draw.
                mode="lines+markers",
                line={"width": 3 if overall else 1.2, "color": "#212529" if overall else None},
                marker={"size": 6 if overall else 4},
                opacity=1 if overall else 0.75,
            )
        )
    figure.update_layout(title=title, **LAYOUT)
    _bands(figure, frame["score"].min())
    return figure


def issues_by_check(frame: pd.DataFrame) -> go.Figure:
    """`frame`: check (title), severity, count: open findings in the latest runs."""
    figure = go.Figure()
    for severity, colour in SEVERITY_COLOURS.items():
        rows = frame[frame["severity"] == severity]
        if rows.empty:
            continue
        figure.add_trace(
            go.Bar(
                x=rows["check"], y=rows["count"], name=severity.capitalize(), marker_color=colour
            )
        )
    figure.update_layout(title="Open issues by check and severity", barmode="stack", **LAYOUT)
    figure.update_yaxes(title="findings")
    return figure


def score_history(frame: pd.DataFrame) -> go.Figure:
    """`frame`: created_at, score: one statement's runs."""
    figure = go.Figure(
        go.Scatter(
            x=frame["created_at"],
            y=frame["score"],
            mode="lines+markers",
            name="score",
            line={"color": "#212529"},
        )
    )
    figure.update_layout(title="Score history", **LAYOUT)
    _bands(figure, frame["score"].min())
    return figure
