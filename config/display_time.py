"""Times as a person reads them: in the display zone, the active Django time zone
(settings.TIME_ZONE unless a request activated another one).

Moments are stored and computed as aware UTC; everything shown goes through here (table
cells, cards, e-mails, the admin's formats, and the figures the `plotly` template filter
serialises), so a page never mixes local and UTC times.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"


def zone_name() -> str:
    return timezone.get_current_timezone_name()


def note() -> str:
    """What a page says about its times."""
    return f"Times in {zone_name()}"


def local(moment: datetime) -> datetime:
    """`moment` in the display zone; a naive moment is taken as UTC (numpy's convention)."""
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return timezone.localtime(moment)


def text(moment, *, seconds: bool = False, zone: bool = False) -> str:
    """`2026-01-31 17:25` in the display zone; with `zone`, its abbreviation after it
    (`17:25 IST`), for text read away from a page that says its zone (e-mails, exports).
    An ISO string (a notification's snapshot) is read as a moment; a calendar date stays
    a date."""
    if moment is None or moment == "":
        return "–"
    if isinstance(moment, str):
        parsed = parse_datetime(moment)
        if parsed is None:
            return moment
        moment = parsed
    if isinstance(moment, date) and not isinstance(moment, datetime):
        return moment.isoformat()
    shown = local(moment)
    result = shown.strftime(SECONDS if seconds else MINUTES)
    return f"{result} {shown.tzname()}" if zone else result


def axis_title() -> str:
    return f"Time ({zone_name()})"


def figure_json(figure) -> dict:
    """A Plotly figure as the JSON the page draws, every moment in the display zone.

    plotly.js ignores a time zone offset and draws a date's wall-clock digits, and Plotly
    turns aware pandas columns into naive ones: so each moment (aware or naive UTC) is
    written as the display zone's wall clock, and each time axis says its zone.
    """
    data = figure.to_plotly_json()
    layout = data.setdefault("layout", {})
    time_axes = {_axis_key(name) for name, value in layout.items() if _is_date_axis(value)}
    traces = []
    for trace in data.get("data", []):
        trace = _moments(trace)
        horizontal = trace.get("orientation") == "h"
        values = trace.get("base") if horizontal else trace.get("x")
        if _has_moments(values):
            time_axes.add(_axis_key("xaxis" + str(trace.get("xaxis", "x"))[1:]))
        traces.append(trace)
    data["data"] = traces
    # The theme (layout.template) holds no moments and is most of the layout: left as is.
    data["layout"] = {k: v if k == "template" else _moments(v) for k, v in layout.items()}
    # Shared axes (subplots) show their ticks on the one they match: its title says the zone.
    for key in list(time_axes):
        matches = (data["layout"].get(key) or {}).get("matches")
        if matches:
            time_axes.add(_axis_key("xaxis" + matches[1:]))
    for key in time_axes:
        axis = data["layout"].setdefault(key, {})
        title = axis.get("title")
        has_title = isinstance(title, dict) and title.get("text") or isinstance(title, str)
        if not has_title and axis.get("showticklabels", True) and axis.get("visible", True):
            axis["title"] = {**(title if isinstance(title, dict) else {}), "text": axis_title()}
            _below_the_axis_title(data["layout"])
    return data


def _below_the_axis_title(layout: dict) -> None:
    """A horizontal legend under the plot moves down to leave the axis title its line."""
    legend = layout.get("legend") or {}
    if legend.get("orientation") == "h" and legend.get("y", 1) < 0:
        # The legend's y is a share of the plot's height: about 30 px lower, whatever it is.
        margin = layout.get("margin") or {}
        plot_px = max(layout.get("height", 450) - margin.get("t", 100) - margin.get("b", 80), 100)
        layout["legend"] = {**legend, "y": legend["y"] - 30 / plot_px, "yanchor": "top"}


def _axis_key(name: str) -> str:
    return "xaxis" if name in ("xaxis", "xaxis1") else name


def _is_date_axis(value) -> bool:
    return isinstance(value, dict) and value.get("type") == "date"


def _has_moments(values) -> bool:
    import numpy as np

    if isinstance(values, np.ndarray):
        return values.dtype.kind == "M" or (
            values.dtype == object and any(isinstance(v, datetime) for v in values[:5])
        )
    return isinstance(values, list | tuple) and any(isinstance(v, datetime) for v in values[:5])


def _moments(value):
    """`value` with every datetime (and numpy datetime64, taken as UTC) as local wall clock."""
    import numpy as np
    import pandas as pd

    if isinstance(value, dict):
        return {key: _moments(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_moments(item) for item in value]
    if isinstance(value, datetime):
        return local(value).replace(tzinfo=None)
    if isinstance(value, np.datetime64):
        return _moments(pd.Timestamp(value).to_pydatetime())
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "M":
            index = pd.DatetimeIndex(value).tz_localize("UTC")
            index = index.tz_convert(timezone.get_current_timezone())
            return index.tz_localize(None).to_numpy()
        if value.dtype == object:
            return np.array([_moments(item) for item in value], dtype=object)
    return value
