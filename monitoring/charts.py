"""Figures of the Performance and System dashboards: DataFrame in, Plotly figure out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

HEIGHT = 300
COLORS = {"p50": "#4c78a8", "p95": "#f58518", "p99": "#e45756", "target": "#b00020"}


def _layout(figure: go.Figure, title: str, unit: str, **extra) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 14}},
        height=HEIGHT,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        yaxis={"title": unit, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
        hovermode="x unified",
        template="plotly_white",
        **extra,
    )
    return figure


def _target(figure: go.Figure, value: float, label: str) -> None:
    figure.add_hline(
        y=value,
        line={"dash": "dash", "color": COLORS["target"], "width": 1},
        annotation_text=label,
        annotation_position="top left",
    )


def _empty(title: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text="No data in this range", showarrow=False, x=0.5, y=0.5)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _layout(figure, title, "")


def latency(frame: pd.DataFrame, target_ms: float | None = None) -> go.Figure:
    """p50 / p95 / p99 over time (ms), with the p95 target as a line."""
    title = "Latency"
    if frame.empty:
        return _empty(title)
    figure = go.Figure()
    for column in ("p50", "p95", "p99"):
        figure.add_trace(
            go.Scatter(
                x=frame["time"],
                y=frame[column],
                name=column,
                mode="lines",
                line={"color": COLORS[column]},
            )
        )
    if target_ms is not None:
        _target(figure, target_ms, f"p95 target {target_ms:,.0f} ms")
    return _layout(figure, title, "ms")


def throughput(frame: pd.DataFrame) -> go.Figure:
    title = "Throughput"
    if frame.empty:
        return _empty(title)
    figure = go.Figure(
        go.Bar(x=frame["time"], y=frame["throughput"], name="requests/min", marker_color="#54a24b")
    )
    return _layout(figure, title, "requests/min")


def error_rate(frame: pd.DataFrame, target: float | None = None) -> go.Figure:
    title = "Error rate (5xx)"
    if frame.empty:
        return _empty(title)
    figure = go.Figure(
        go.Scatter(
            x=frame["time"], y=frame["error_rate"], name="5xx %", mode="lines", fill="tozeroy"
        )
    )
    if target is not None:
        _target(figure, target, f"target {target:g} %")
    return _layout(figure, title, "%")


def db_time(frame: pd.DataFrame, target_ms: float | None = None) -> go.Figure:
    """Database time per request: average and p95 (ms), with the DB p95 target."""
    title = "Database time per request"
    if frame.empty:
        return _empty(title)
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=frame["time"], y=frame["db_avg"], name="avg", mode="lines"))
    figure.add_trace(go.Scatter(x=frame["time"], y=frame["db_p95"], name="p95", mode="lines"))
    if target_ms is not None:
        _target(figure, target_ms, f"DB p95 target {target_ms:,.0f} ms")
    return _layout(figure, title, "ms")


def latency_histogram(frame: pd.DataFrame) -> go.Figure:
    """Requests per latency bucket, on a log scale of milliseconds."""
    title = "Latency distribution"
    if frame.empty:
        return _empty(title)
    figure = go.Figure(
        go.Scatter(
            x=frame["ms"],
            y=frame["count"],
            name="requests",
            mode="lines",
            line={"shape": "hvh"},
            fill="tozeroy",
        )
    )
    figure = _layout(figure, title, "requests")
    figure.update_xaxes(type="log", title="ms (log scale)")
    return figure


def per_host(frame: pd.DataFrame, column: str, title: str, unit: str, limits=()) -> go.Figure:
    """One line per host; `limits` are (value, label) lines, e.g. warning and critical."""
    if frame.empty or frame[column].isna().all():
        return _empty(title)
    figure = go.Figure()
    for host, rows in frame.groupby("host"):
        figure.add_trace(go.Scatter(x=rows["time"], y=rows[column], name=str(host), mode="lines"))
    for value, label in limits:
        _target(figure, value, label)
    return _layout(figure, title, unit)


def network(frame: pd.DataFrame) -> go.Figure:
    title = "Network"
    if frame.empty or frame[["net_in", "net_out"]].isna().all().all():
        return _empty(title)
    figure = go.Figure()
    for host, rows in frame.groupby("host"):
        figure.add_trace(
            go.Scatter(x=rows["time"], y=rows["net_in"], name=f"{host} in", mode="lines")
        )
        figure.add_trace(
            go.Scatter(x=rows["time"], y=rows["net_out"], name=f"{host} out", mode="lines")
        )
    return _layout(figure, title, "bytes/s")


def statement_time(frame: pd.DataFrame) -> go.Figure:
    """One statement: total time per step (bars) and p95 per call (line)."""
    title = "Time spent in this statement"
    if frame.empty:
        return _empty(title)
    figure = go.Figure()
    figure.add_trace(go.Bar(x=frame["time"], y=frame["total_ms"], name="total ms"))
    figure.add_trace(go.Scatter(x=frame["time"], y=frame["p95"], name="p95 per call", yaxis="y2"))
    return _layout(figure, title, "ms", yaxis2={"overlaying": "y", "side": "right", "title": "ms"})
