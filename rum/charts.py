"""Figures for the RUM dashboards: data in, Plotly figure out (pure, no ORM, no request)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rum import vitals

DEVICE_COLOURS = {"desktop": "#2c7fb8", "mobile": "#d95f0e", "tablet": "#31a354"}
RATING_COLOURS = {"good": "#198754", "needs-improvement": "#e0a800", "poor": "#dc3545"}
HOVER = "%{y:.3~f} from %{customdata} page views<extra>%{fullData.name}</extra>"
LAYOUT = {
    "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
    "legend": {"orientation": "h", "y": -0.12},
    "template": "plotly_white",
}


def _scale(name: str) -> float:
    """Durations are drawn in seconds past a second, CLS as is."""
    return 1000.0 if vitals.VITALS[name].unit == "ms" else 1.0


def _axis_title(name: str) -> str:
    return f"{name} (s)" if vitals.VITALS[name].unit == "ms" else name


def trend_figure(trend: pd.DataFrame) -> go.Figure | None:
    """p75 of each vital over time, one line per device class, with the 'good' threshold."""
    if trend.empty:
        return None
    figure = make_subplots(
        rows=len(vitals.NAMES), cols=1, shared_xaxes=True, vertical_spacing=0.03,
        subplot_titles=[f"{name} p75" for name in vitals.NAMES],
    )  # fmt: skip
    for row, name in enumerate(vitals.NAMES, start=1):
        scale = _scale(name)
        mine = trend[trend["metric"] == name]
        for device, points in mine.groupby("device"):
            figure.add_trace(
                go.Scatter(
                    x=points["bucket"],
                    y=points["p75"] / scale,
                    mode="lines+markers",
                    name=str(device),
                    legendgroup=str(device),
                    showlegend=row == 1,
                    line={"color": DEVICE_COLOURS.get(str(device), "#6c757d")},
                    customdata=points["count"],
                    hovertemplate=HOVER,
                ),
                row=row,
                col=1,
            )
        figure.add_hline(
            y=vitals.VITALS[name].good / scale, line_dash="dot",
            line_color=RATING_COLOURS["good"], row=row, col=1,
        )  # fmt: skip
        figure.update_yaxes(title_text=_axis_title(name), rangemode="tozero", row=row, col=1)
    figure.update_layout(height=170 * len(vitals.NAMES), **LAYOUT)
    return figure


def distribution_figure(name: str, points: list[tuple[float, int]]) -> go.Figure | None:
    """How the page's values spread, with the good / poor threshold lines."""
    if not points:
        return None
    vital = vitals.VITALS[name]
    scale = _scale(name)
    values = [v / scale for v, _ in points]
    counts = [n for _, n in points]
    top = max(max(values), vital.poor / scale * 1.2)
    width = _nice_width(top / 40)
    bins: dict[float, int] = {}
    for value, count in zip(values, counts, strict=True):
        start = math.floor(value / width) * width
        bins[start] = bins.get(start, 0) + count
    starts = sorted(bins)
    colours = [RATING_COLOURS[vital.rate((s + width / 2) * scale)] for s in starts]
    figure = go.Figure(
        go.Bar(
            x=[s + width / 2 for s in starts],
            y=[bins[s] for s in starts],
            width=width * 0.95,
            marker_color=colours,
            hovertemplate="%{x:.3~f}: %{y} page views<extra></extra>",
        )
    )
    for threshold, label in ((vital.good, "good"), (vital.poor, "poor")):
        figure.add_vline(
            x=threshold / scale, line_dash="dash", line_color="#495057",
            annotation_text=f"{label} {vital.format(threshold)}", annotation_position="top",
        )  # fmt: skip
    figure.update_xaxes(range=[0, top * 1.05])
    figure.update_layout(
        title=f"{name}: {vital.title}", height=280, showlegend=False,
        xaxis_title=_axis_title(name), yaxis_title="page views", **LAYOUT,
    )  # fmt: skip
    return figure


def _nice_width(raw: float) -> float:
    """A round bin width (1, 2 or 5 times a power of ten) at least `raw`."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def ttfb_split_figure(split: dict | None) -> go.Figure | None:
    """Median TTFB as server time (Server-Timing) plus network and the rest."""
    if not split:
        return None
    figure = go.Figure()
    for part, colour in (("server", "#6f42c1"), ("network", "#20c997")):
        figure.add_trace(
            go.Bar(
                y=["TTFB"], x=[split[part]], name=f"{part} {split[part]:.0f} ms",
                orientation="h", marker_color=colour,
            )
        )  # fmt: skip
    figure.update_layout(
        barmode="stack", height=170, xaxis_title="ms (median)",
        title=f"TTFB {split['ttfb']:.0f} ms: server vs network ({split['count']} page views)",
        **LAYOUT,
    )  # fmt: skip
    return figure
