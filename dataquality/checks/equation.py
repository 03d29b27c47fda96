from __future__ import annotations

import numpy as np

from dataquality.checks.base import Check, Param, empty_findings, fmt_amount, per_statement

SIDES = ["assets", "liabilities", "equity"]


class BalanceSheetEquation(Check):
    key = "balance_equation"
    title = "Balance-sheet equation"
    description = "Assets equal liabilities plus equity."
    default_severity = "critical"
    recommendation = (
        "Find the side that is off: compare total assets, total liabilities and total "
        "equity with the source balance sheet, and look for a missing or mis-categorised line."
    )
    params = (
        Param("tolerance_percent", "Tolerance (% of assets)", 1.0),
        Param("tolerance_absolute", "Tolerance (amount)", 1000.0),
    )

    def run(self, data, settings):
        items = data.in_targets(data.unique_items)
        # A side's amount is the sum of its top-level lines: its total when there is
        # one, otherwise its items.
        top = items[
            (items["statement_type"] == "balance_sheet")
            & items["parent_id"].isna()
            & items["category"].isin(SIDES)
        ]
        if top.empty:
            return empty_findings()
        grouped = top.groupby(["statement_id", "category"])["value"]
        # min_count: a side with a missing value stays unknown, never zero.
        complete = grouped.count() == grouped.size()
        sides = grouped.sum().where(complete).unstack("category").reindex(columns=SIDES)
        sides = sides.dropna()
        gap = sides["assets"] - (sides["liabilities"] + sides["equity"])
        tolerance = np.maximum(
            settings.params["tolerance_percent"] / 100 * sides["assets"].abs(),
            settings.params["tolerance_absolute"],
        )
        # (assign before filtering: assigning to an empty frame would adopt gap's index)
        off = sides.assign(gap=gap)[gap.abs() > tolerance]
        flagged = top[top["statement_id"].isin(off.index)]

        def describe(count, statement_id):
            row = off.loc[statement_id]
            return (
                f"Assets {fmt_amount(row['assets'])} ≠ liabilities "
                f"{fmt_amount(row['liabilities'])} + equity {fmt_amount(row['equity'])} "
                f"(off by {fmt_amount(row['gap'])})."
            )

        return per_statement(flagged, settings.severity, describe)
