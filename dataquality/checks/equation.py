from __future__ import annotations

import numpy as np
import pandas as pd

from dataquality.checks.base import (
    FINDING_COLUMNS,
    Check,
    Param,
    empty_findings,
    fill_empty_totals,
    fmt_amount,
    per_statement,
    samples_by_statement,
)

SIDES = ["assets", "liabilities", "equity"]
# A sheet that cannot be checked is no pass: it says so, below the check's own severity.
NOT_EVALUABLE_SEVERITY = "medium"


class BalanceSheetEquation(Check):
    key = "balance_equation"
    title = "Balance-sheet equation"
    description = (
        "Assets equal liabilities plus equity; an empty total is computed from its "
        "components, and a sheet that cannot be checked is reported as not evaluable."
    )
    default_severity = "critical"
    recommendation = (
        "Find the side that is off: compare total assets, total liabilities and total "
        "equity with the source balance sheet, and look for a missing or mis-categorised line. "
        "If the sheet is not evaluable, fill in the empty total or its empty components."
    )
    params = (
        Param("tolerance_percent", "Tolerance (% of assets)", 1.0),
        Param("tolerance_absolute", "Tolerance (amount)", 1000.0),
    )

    def run(self, data, settings):
        items = data.in_targets(data.unique_items)
        items = items[items["statement_type"] == "balance_sheet"]
        if items.empty:
            return empty_findings()
        amount = fill_empty_totals(items)
        items = items.assign(amount=amount, computed=amount.notna() & items["value"].isna())
        # A side's amount is the sum of its top-level lines: its total when there is
        # one (computed from its components when empty), otherwise its items.
        top = items[items["parent_id"].isna() & items["category"].isin(SIDES)]
        sheets = pd.Index(items["statement_id"].unique(), name="statement_id")
        grouped = top.groupby(["statement_id", "category"])["amount"]
        # A side with an empty line stays unknown, never zero.
        complete = grouped.count() == grouped.size()
        sides = (
            grouped.sum().where(complete).unstack("category").reindex(index=sheets, columns=SIDES)
        )
        evaluable = sides.notna().all(axis=1)
        return pd.concat(
            [
                self._unbalanced(top, sides[evaluable], settings),
                self._not_evaluable(items, top, sides[~evaluable]),
            ],
            ignore_index=True,
        )

    def _unbalanced(self, top, sides, settings):
        gap = sides["assets"] - (sides["liabilities"] + sides["equity"])
        tolerance = np.maximum(
            settings.params["tolerance_percent"] / 100 * sides["assets"].abs(),
            settings.params["tolerance_absolute"],
        )
        # (assign before filtering: assigning to an empty frame would adopt gap's index)
        off = sides.assign(gap=gap)[gap.abs() > tolerance]
        flagged = top[top["statement_id"].isin(off.index)]
        computed = flagged[flagged["computed"]]

        def side(statement_id, category):
            lines = computed.loc[
                (computed["statement_id"] == statement_id) & (computed["category"] == category),
                "metric",
            ]
            note = f" ({', '.join(lines)} computed from its components)" if len(lines) else ""
            return f"{fmt_amount(off.at[statement_id, category])}{note}"

        def describe(count, statement_id):
            return (
                f"Assets {side(statement_id, 'assets')} ≠ liabilities "
                f"{side(statement_id, 'liabilities')} + equity {side(statement_id, 'equity')} "
                f"(off by {fmt_amount(off.at[statement_id, 'gap'])})."
            )

        return per_statement(flagged, settings.severity, describe)

    def _not_evaluable(self, items, top, sides):
        if sides.empty:
            return empty_findings()
        items = items[items["statement_id"].isin(sides.index)]
        top = top[top["statement_id"].isin(sides.index)]
        empty_top = top[top["amount"].isna()]
        children = items[items["parent_id"].isin(empty_top["id"])]
        per_parent = children.groupby("parent_id")["amount"].agg(["size", "count"])
        empty_children = children[children["amount"].isna()]
        flagged = pd.concat([empty_top, empty_children])

        def reasons(statement_id):
            found = []
            lines = empty_top[empty_top["statement_id"] == statement_id]
            for line in lines.itertuples():
                if line.id in per_parent.index:
                    size, known = per_parent.loc[line.id, ["size", "count"]]
                    blank = size - known
                    verb = "is" if blank == 1 else "are"
                    found.append(
                        f"{line.metric} is empty and {blank} of its {size} components {verb} empty"
                    )
                else:
                    found.append(f"{line.metric} is empty")
            present = set(top.loc[top["statement_id"] == statement_id, "category"])
            found += [f"there are no {side} lines" for side in SIDES if side not in present]
            return "; ".join(found)

        counts = flagged.groupby("statement_id").size().reindex(sides.index, fill_value=0)
        samples = samples_by_statement(flagged).reindex(sides.index)
        out = pd.DataFrame(
            {
                "statement_id": sides.index,
                "severity": NOT_EVALUABLE_SEVERITY,
                "description": [
                    f"Not evaluable: {reasons(sid)}, so assets = liabilities + equity "
                    "cannot be checked."
                    for sid in sides.index
                ],
                "affected_rows": counts.to_numpy(),
                "sample_ids": [s if isinstance(s, list) else [] for s in samples],
            }
        )
        return out[FINDING_COLUMNS]
