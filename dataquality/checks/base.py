"""What every check shares: its declaration, the data a scan hands it, its findings.

A check is a small class with a `run(data, settings)` that looks at a whole
batch of statements at once (pandas, no loop over rows) and answers a
DataFrame with one row per finding (see FINDING_COLUMNS).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd

SAMPLE_SIZE = 20
FINDING_COLUMNS = ["statement_id", "severity", "description", "affected_rows", "sample_ids"]


@dataclass(frozen=True)
class Param:
    """A threshold the admin can change."""

    name: str
    label: str
    default: Any
    help: str = ""
    kind: str = "float"  # float, int or list (of words)
    minimum: float | None = 0


@dataclass
class CheckSettings:
    enabled: bool
    severity: str
    params: dict = field(default_factory=dict)


class Check(abc.ABC):
    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    default_severity: ClassVar[str] = "medium"
    recommendation: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    @abc.abstractmethod
    def run(self, data: ScanData, settings: CheckSettings) -> pd.DataFrame:
        """Findings for the batch, one row per finding (FINDING_COLUMNS)."""


@dataclass
class ScanData:
    """One batch: line items of whole entities (their history), and what to report on.

    `items` has one row per line item: id, statement_id, metric, category,
    period, value (float, NaN when missing), is_total, parent_id, plus the
    statement's entity_id, statement_type, period_end. `statements` has one row
    per statement (also those without line items) with the entity's
    cadence_days. `targets` are the statements whose findings are kept; the
    others are history for the checks that compare periods.
    """

    items: pd.DataFrame
    statements: pd.DataFrame
    targets: np.ndarray
    now: datetime
    # Pooled outlier scale per (statement_type, metric), from the whole population.
    scales: pd.Series | None = None

    @cached_property
    def unique_items(self) -> pd.DataFrame:
        """One row per (statement, metric, period): the first wins.

        A duplicated line is reported once, by the duplicates check, and does
        not also unbalance totals or the balance-sheet equation.
        """
        return self.items.drop_duplicates(["statement_id", "metric", "period"], keep="first")

    @cached_property
    def series(self) -> pd.DataFrame:
        """Each statement's own-period, non-total values: the points of a metric's history."""
        items = self.unique_items
        own = items[(items["period"] == items["period_end"]) & ~items["is_total"]]
        return own.drop_duplicates(["entity_id", "statement_type", "metric", "period"])

    @cached_property
    def component_sums(self) -> pd.DataFrame:
        """Per total line (indexed by its id): its components' sum, and whether all are known.

        A total whose components are not all known cannot be verified by summing.
        """
        return sum_components(self.unique_items)

    @cached_property
    def total_series(self) -> pd.DataFrame:
        """Each statement's own-period total lines, with `verified`: the totals check can sum
        its components (all known). The others are checked by nothing but their history."""
        items = self.unique_items
        own = items[(items["period"] == items["period_end"]) & items["is_total"]]
        own = own.drop_duplicates(["entity_id", "statement_type", "metric", "period"])
        sums = self.component_sums
        complete = sums.index[sums["complete"]]
        return own.assign(verified=own["id"].isin(complete).to_numpy())

    def in_targets(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["statement_id"].isin(self.targets)]


def sum_components(items: pd.DataFrame, values: pd.Series | None = None) -> pd.DataFrame:
    """Per parent id: `sum` of its components' values and `complete` (none is empty)."""
    values = items["value"] if values is None else values
    has_parent = items["parent_id"].notna()
    grouped = values[has_parent].groupby(items.loc[has_parent, "parent_id"].astype("int64"))
    out = pd.DataFrame({"sum": grouped.sum(), "count": grouped.count(), "size": grouped.size()})
    out["complete"] = out["count"] == out["size"]
    return out[["sum", "complete"]]


# Levels of nested subtotals an empty total is rebuilt through.
MAX_TOTAL_DEPTH = 5


def fill_empty_totals(items: pd.DataFrame) -> pd.Series:
    """`value`, with each empty total computed from its components where all are known
    (through nested subtotals); a total with an empty component stays empty."""
    values = items["value"].copy()
    for _ in range(MAX_TOTAL_DEPTH):
        empty = values.isna() & items["is_total"]
        if not empty.any():
            break
        sums = sum_components(items, values)
        computed = items["id"].map(sums["sum"].where(sums["complete"]))
        fill = empty & computed.notna()
        if not fill.any():
            break
        values[fill] = computed[fill]
    return values


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})


def samples_by_statement(flagged: pd.DataFrame) -> pd.Series:
    """The first SAMPLE_SIZE line-item ids of each statement, as lists."""
    head = flagged.sort_values(["statement_id", "id"]).groupby("statement_id").head(SAMPLE_SIZE)
    return head.groupby("statement_id")["id"].agg(lambda ids: [int(i) for i in ids])


def per_statement(flagged: pd.DataFrame, severity: str | pd.Series, describe) -> pd.DataFrame:
    """One finding per statement with flagged rows.

    `describe(count, group_info)` builds the text from the number of flagged
    rows; `severity` is one level or a Series indexed by statement id.
    """
    if flagged.empty:
        return empty_findings()
    counts = flagged.groupby("statement_id").size()
    samples = samples_by_statement(flagged)
    out = pd.DataFrame({"affected_rows": counts, "sample_ids": samples})
    out["severity"] = severity if isinstance(severity, str) else severity.reindex(out.index)
    out["description"] = [describe(int(n), sid) for sid, n in counts.items()]
    return out.rename_axis("statement_id").reset_index()[FINDING_COLUMNS]


def fmt_amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
