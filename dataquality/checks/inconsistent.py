"""Inconsistent values: a value out of line with the entity's surrounding periods.

A value is judged against robust references, not the single previous value
(next to a negated quarter, the correct quarter after it "changes" by 200 %
too, and used to be blamed):

- the median of up to two periods before and two after, the value left out
  (two neighbours count only when they agree): one wrong value does not move
  it, so the odd value is the one flagged;
- the median of up to three periods before: a lasting change of level has no
  single odd value, and is flagged in the period it starts (not in the next
  one, whose earlier periods are still mostly the old level).
"""

from __future__ import annotations

import numpy as np

from dataquality.checks.base import Check, Param, per_statement

GROUP = ["entity_id", "statement_type", "metric"]


def row_medians(values: np.ndarray):
    """Per row: how many values are known, their median, lowest and highest (NaN if none).

    By sorting (empty values go last): np.nanmedian is some 20 times slower.
    """
    ordered = np.sort(values, axis=1)
    known = np.isfinite(values).sum(axis=1)
    last = np.maximum(known - 1, 0)
    rows = np.arange(len(values))
    middle = (ordered[rows, last // 2] + ordered[rows, (last + 1) // 2]) / 2
    none = known == 0
    return (
        known,
        np.where(none, np.nan, middle),
        np.where(none, np.nan, ordered[:, 0]),
        np.where(none, np.nan, ordered[rows, last]),
    )


def shifted(values: np.ndarray, history: np.ndarray, by: int) -> np.ndarray:
    """values[i - by] where it is in the same history as i (rows sorted by history and
    period), else NaN: groupby().shift() without the groupby."""
    out = np.full(len(values), np.nan)
    if by > 0:
        out[by:] = np.where(history[by:] == history[:-by], values[:-by], np.nan)
    else:
        out[:by] = np.where(history[:by] == history[-by:], values[-by:], np.nan)
    return out


def relative_change(value, reference):
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (value - reference) / np.abs(reference)
    # A zero or unknown reference gives no verdict.
    return np.where(np.isfinite(change), np.abs(change), 0.0)


class InconsistentValues(Check):
    key = "inconsistent_values"
    title = "Inconsistent values"
    description = (
        "A metric out of line with the entity's surrounding periods (their median), or a "
        "lasting change of level from the previous period."
    )
    default_severity = "medium"
    recommendation = (
        "Confirm the value with the source: a jump like this is usually a unit error "
        "(thousands vs units), a sign error or a line mapped to the wrong metric."
    )
    params = (
        Param(
            "max_change_percent",
            "Largest change (%)",
            200.0,
            "Change of a metric from the median of the entity's surrounding periods (or, "
            "where the level shifts for good, from the previous period) beyond which it is "
            "flagged.",
        ),
    )

    def run(self, data, settings):
        series = data.series.sort_values(GROUP + ["period"])
        history = series.groupby(GROUP, sort=False).ngroup().to_numpy()
        value = series["value"].to_numpy(dtype=float)
        limit = settings.params["max_change_percent"] / 100

        # A history of two periods has one neighbour each: the later one is judged on it.
        pair = np.bincount(history)[history] == 2

        def beyond(shifts, alone_counts):
            """Where the value is more than the limit off the median of these periods."""
            around = np.column_stack([shifted(value, history, k) for k in shifts])
            known, median, low, high = row_medians(around)
            # The median of two is their mean: a reference only when the two agree (one
            # may be the wrong value).
            agree = (relative_change(high, low) <= limit) & (relative_change(low, high) <= limit)
            usable = (known >= 3) | ((known == 2) & agree) | ((known == 1) & alone_counts)
            return (relative_change(value, median) > limit) & usable

        # Up to two periods each side: an odd value. One neighbour alone says nothing
        # (which of two values is wrong?), except the last word in a two-period history.
        odd = beyond([-2, -1, 1, 2], alone_counts=False)
        # Up to three periods before: a change of level, flagged where it starts (not
        # again in the next period, whose earlier periods are still mostly the old level).
        jump = beyond([1, 2, 3], alone_counts=pair)
        seen = shifted((odd | jump).astype(float), history, 1) == 1
        flagged = data.in_targets(series[odd | (jump & ~seen)])
        return per_statement(
            flagged,
            settings.severity,
            lambda count, _: (
                f"{count} metric(s) differ by more than "
                f"{settings.params['max_change_percent']:g} % from the entity's surrounding "
                "periods."
            ),
        )
