"""The floor of dq_scan: the eight checks' computations as bare vectorised pandas.

The same arithmetic each check in dataquality/checks does, on frames already in
memory (the line items of every statement, with their statement's entity,
type, period end and cadence, as dataquality.scan.read_batch returns them),
without the framework: no batches, no ScanData, no finding rows, texts or
samples, no scores and nothing stored. Each check answers the ids of the
statements it flags, so the benchmark can confirm the floor finds what the scan
found (an honest floor computes the same verdicts). Nothing here imports the
product's checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = ["statement_id", "metric", "period"]
GROUP = ["entity_id", "statement_type", "metric"]
SIDES = ["assets", "liabilities", "equity"]
MAD_TO_SIGMA = 1.4826
MIN_SCALE = 0.05
MAX_TOTAL_DEPTH = 5


def run_all(items: pd.DataFrame, statements: pd.DataFrame, now, params: dict, every: int):
    """Per check key: the flagged statement ids (a numpy array).

    `params` maps a check key to its parameters; `every` is the scan's sampling of
    entities for the pooled outlier scales (every k-th entity id).
    """
    unique = items.drop_duplicates(KEY, keep="first")
    own = unique["period"] == unique["period_end"]
    series = unique[own & ~unique["is_total"]].drop_duplicates(
        ["entity_id", "statement_type", "metric", "period"]
    )
    sums = component_sums(unique, unique["value"])
    return {
        "missing_data": missing(items, params["missing_data"]),
        "inconsistent_values": inconsistent(series, params["inconsistent_values"]),
        "outliers": outliers(unique, own, series, sums, items, params["outliers"], every),
        "balance_equation": equation(unique, params["balance_equation"]),
        "negative_balances": negatives(unique, params["negative_balances"]),
        "totals": totals(unique, sums, params["totals"]),
        "duplicates": duplicates(items),
        "freshness": freshness(statements, now, params["freshness"]),
    }


def flagged_ids(frame: pd.DataFrame) -> np.ndarray:
    return np.unique(frame["statement_id"].to_numpy())


def missing(items, p):
    grouped = items.groupby("statement_id")["value"]
    percent = 100.0 * (1 - grouped.count() / grouped.size())
    return np.sort(percent.index[percent > p["high_percent"]].to_numpy())


def negatives(unique, p):
    bad = (unique["value"] < 0) & unique["category"].isin(p["categories"])
    return flagged_ids(unique[bad])


def duplicates(items):
    return flagged_ids(items[items.duplicated(KEY, keep=False)])


def component_sums(items, values):
    has_parent = items["parent_id"].notna()
    grouped = values[has_parent].groupby(items.loc[has_parent, "parent_id"].astype("int64"))
    out = pd.DataFrame({"sum": grouped.sum(), "count": grouped.count(), "size": grouped.size()})
    out["complete"] = out["count"] == out["size"]
    return out


def totals(unique, sums, p):
    known = unique[unique["is_total"] & unique["value"].notna()]
    joined = known.join(sums.loc[sums["complete"], ["sum"]], on="id", how="inner")
    gap = (joined["value"] - joined["sum"]).abs()
    tolerance = np.maximum(
        p["tolerance_percent"] / 100 * joined["value"].abs(), p["tolerance_absolute"]
    )
    return flagged_ids(joined[gap > tolerance])


def equation(unique, p):
    sheets = unique[unique["statement_type"] == "balance_sheet"]
    amount = sheets["value"].copy()
    for _ in range(MAX_TOTAL_DEPTH):  # empty totals from their components, nested
        empty = amount.isna() & sheets["is_total"]
        if not empty.any():
            break
        sums = component_sums(sheets, amount)
        computed = sheets["id"].map(sums["sum"].where(sums["complete"]))
        fill = empty & computed.notna()
        if not fill.any():
            break
        amount[fill] = computed[fill]
    top = sheets["parent_id"].isna() & sheets["category"].isin(SIDES)
    grouped = amount[top].groupby([sheets.loc[top, "statement_id"], sheets.loc[top, "category"]])
    sides = (
        grouped.sum()
        .where(grouped.count() == grouped.size())
        .unstack("category")
        .reindex(index=np.unique(sheets["statement_id"]), columns=SIDES)
    )
    gap = (sides["assets"] - sides["liabilities"] - sides["equity"]).abs()
    tolerance = np.maximum(
        p["tolerance_percent"] / 100 * sides["assets"].abs(), p["tolerance_absolute"]
    )
    # Unbalanced, or not evaluable (a side unknown): both are findings.
    return np.sort(sides.index[(gap > tolerance) | sides.isna().any(axis=1)].to_numpy())


def freshness(statements, now, p):
    latest_at = statements.groupby(["entity_id", "statement_type"])["period_end"].transform("max")
    latest = statements[statements["period_end"] == latest_at]
    due = latest["period_end"] + pd.to_timedelta(latest["cadence_days"] + p["grace_days"], "D")
    return flagged_ids(latest[due < pd.Timestamp(now.date())])


def deviations(points, min_periods):
    valid = points[points["value"].notna() & (points["value"] != 0)]
    magnitude = valid["value"].abs()
    keys = [valid[c] for c in GROUP]
    grouped = magnitude.groupby(keys)
    median = grouped.transform("median")
    signed = valid["value"].groupby(keys).transform("median")
    keep = ((grouped.transform("size") >= min_periods) & (signed.abs() >= 0.5 * median)).to_numpy()
    out = valid[keep]
    ratio = (magnitude[keep] / median[keep]).to_numpy()
    fold = np.maximum(ratio, 1 / ratio) - 1
    fold = np.where(out["is_total"].to_numpy(dtype=bool), np.abs(ratio - 1), fold)
    return out.assign(deviation=fold)


def outliers(unique, own, series, sums, items, p, every):
    # The pooled scales: every k-th entity's own-period values, totals included.
    sample = items[
        (items["entity_id"] % every == 0)
        & (items["period"] == items["period_end"])
        & items["value"].notna()
    ].drop_duplicates(["entity_id", "statement_type", "metric", "period"])
    pooled = deviations(sample, p["min_periods"])
    mad = pooled["deviation"].groupby([pooled["statement_type"], pooled["metric"]]).median()
    scales = (MAD_TO_SIGMA * mad).clip(lower=MIN_SCALE)
    # Totals the totals check can verify (all components known) are left to it.
    total_lines = unique[own & unique["is_total"]].drop_duplicates(
        ["entity_id", "statement_type", "metric", "period"]
    )
    complete = sums.index[sums["complete"]]
    points = pd.concat(
        [
            series.assign(verified=False),
            total_lines.assign(verified=total_lines["id"].isin(complete).to_numpy()),
        ],
        ignore_index=True,
    )
    scored = deviations(points, p["min_periods"])
    keys = pd.MultiIndex.from_frame(scored[["statement_type", "metric"]])
    scale = scales.reindex(keys).to_numpy()
    scale = np.where(np.isnan(scale), MIN_SCALE, scale)
    score = scored["deviation"].to_numpy() / scale
    return flagged_ids(scored[(score > p["cutoff"]) & ~scored["verified"].to_numpy(dtype=bool)])


def shifted(values, history, by):
    out = np.full(len(values), np.nan)
    if by > 0:
        out[by:] = np.where(history[by:] == history[:-by], values[:-by], np.nan)
    else:
        out[:by] = np.where(history[:by] == history[-by:], values[-by:], np.nan)
    return out


def change(value, reference):
    with np.errstate(divide="ignore", invalid="ignore"):
        found = (value - reference) / np.abs(reference)
    return np.where(np.isfinite(found), np.abs(found), 0.0)


def inconsistent(series, p):
    series = series.sort_values([*GROUP, "period"])
    history = series.groupby(GROUP, sort=False).ngroup().to_numpy()
    value = series["value"].to_numpy(dtype=float)
    limit = p["max_change_percent"] / 100
    pair = np.bincount(history)[history] == 2
    rows = np.arange(len(value))

    def beyond(shifts, alone_counts):
        around = np.column_stack([shifted(value, history, k) for k in shifts])
        ordered = np.sort(around, axis=1)
        known = np.isfinite(around).sum(axis=1)
        last = np.maximum(known - 1, 0)
        median = (ordered[rows, last // 2] + ordered[rows, (last + 1) // 2]) / 2
        low, high = ordered[:, 0], ordered[rows, last]
        none = known == 0
        median = np.where(none, np.nan, median)
        agree = (change(high, low) <= limit) & (change(low, high) <= limit)
        usable = (known >= 3) | ((known == 2) & agree) | ((known == 1) & alone_counts)
        return (change(value, median) > limit) & usable

    odd = beyond([-2, -1, 1, 2], alone_counts=False)
    jump = beyond([1, 2, 3], alone_counts=pair)
    seen = shifted((odd | jump).astype(float), history, 1) == 1
    return flagged_ids(series[odd | (jump & ~seen)])
