"""Figures of the alerts app: DataFrame in, Plotly figure out (pure, no ORM)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from alerts.queries import duration_text

SEVERITY_COLOURS = {
    "critical": "#dc3545",
    "high": "#fd7e14",
    "medium": "#e0a800",
    "low": "#6c757d",
}
MAX_SERIES = 8


def _layout(fig: go.Figure, title: str, y_title: str = "") -> go.Figure:
    fig.update_layout(
        title=title,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        height=360,
        legend={"orientation": "h", "y": -0.15},
        yaxis_title=y_title,
        hovermode="x unified",
    )
    return fig


def preview_figure(
    points: pd.DataFrame,
    transitions: pd.DataFrame,
    threshold: float,
    resolve_threshold: float | None,
    unit: str,
) -> go.Figure:
    """The metric per label set, the thresholds, and when the rule would have fired/resolved.

    points: columns at, series, value. transitions: columns at, series, state, value.
    """
    fig = go.Figure()
    if not points.empty:
        # The label sets that came closest to (or went past) the threshold, at most a few.
        peaks = points.groupby("series")["value"].max().sort_values(ascending=False)
        for name in list(peaks.index[:MAX_SERIES]):
            rows = points[points["series"] == name]
            fig.add_trace(go.Scattergl(x=rows["at"], y=rows["value"], name=name, mode="lines"))
    fig.add_hline(
        y=threshold, line={"color": "#dc3545", "dash": "dash"}, annotation_text="threshold"
    )
    if resolve_threshold is not None:
        fig.add_hline(
            y=resolve_threshold,
            line={"color": "#198754", "dash": "dot"},
            annotation_text="resolves",
            annotation_position="bottom right",
        )
    for state, colour, symbol in (
        ("firing", "#dc3545", "triangle-up"),
        ("resolved", "#198754", "circle"),
    ):
        rows = transitions[transitions["state"] == state] if not transitions.empty else transitions
        if len(rows):
            fig.add_trace(
                go.Scatter(
                    x=rows["at"],
                    y=rows["value"],
                    mode="markers",
                    name=f"would have {'fired' if state == 'firing' else 'resolved'}",
                    marker={"color": colour, "size": 11, "symbol": symbol},
                    text=rows["series"],
                )
            )
    return _layout(fig, "Last 7 days", unit)


def timeline_figure(incidents: pd.DataFrame, start, end) -> go.Figure:
    """Each incident as a bar from firing to resolution (or now), one row per rule.

    incidents: columns rule, labels, severity, fired_at, resolved_at (NaT while firing).
    """
    fig = go.Figure()
    if not incidents.empty:
        frame = incidents.copy()
        resolved = frame["resolved_at"].dt.as_unit("us")
        frame["until"] = resolved.fillna(pd.Timestamp(end).tz_convert("UTC").as_unit("us"))
        seconds = (frame["until"] - frame["fired_at"]).dt.total_seconds()
        frame["ms"] = seconds * 1000
        frame["lasted"] = seconds.map(duration_text)
        for severity, rows in frame.groupby("severity", sort=False):
            fig.add_trace(
                go.Bar(
                    base=rows["fired_at"],
                    x=rows["ms"],
                    y=rows["rule"],
                    orientation="h",
                    name=severity,
                    marker_color=SEVERITY_COLOURS.get(severity, "#6c757d"),
                    customdata=rows[["labels", "lasted"]],
                    hovertemplate="%{y} %{customdata[0]}<br>fired %{base|%Y-%m-%d %H:%M}, "
                    "lasted %{customdata[1]}<extra></extra>",
                )
            )
        # A marker where each incident fired: short ones are too thin to see as bars.
        fig.add_trace(
            go.Scatter(
                x=frame["fired_at"],
                y=frame["rule"],
                mode="markers",
                marker={
                    "symbol": "line-ns-open",
                    "size": 14,
                    "color": [SEVERITY_COLOURS.get(s, "#6c757d") for s in frame["severity"]],
                },
                showlegend=False,
                customdata=frame[["labels", "lasted"]],
                hovertemplate="%{y} %{customdata[0]}<br>fired %{x|%Y-%m-%d %H:%M}, "
                "lasted %{customdata[1]}<extra></extra>",
            )
        )
    fig.update_xaxes(type="date", range=[start, end])
    fig.update_layout(barmode="overlay", yaxis={"automargin": True})
    return _layout(fig, "Incidents")
