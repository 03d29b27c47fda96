from __future__ import annotations

import numpy as np

from dataquality.checks.base import Check, Param, fmt_amount, per_statement


class Totals(Check):
    key = "totals"
    title = "Totals"
    description = "A total line differs from the sum of its components."
    default_severity = "high"
    recommendation = (
        "Recompute the total from its components in the source, or find the component that "
        "is missing or wrong."
    )
    params = (
        Param("tolerance_percent", "Tolerance (% of the total)", 0.5),
        Param("tolerance_absolute", "Tolerance (amount)", 1.0),
    )

    def run(self, data, settings):
        items = data.in_targets(data.unique_items)
        # A total with a missing component cannot be verified by summing: missing data
        # reports the empty line, and the outliers check judges the total on its history.
        sums = data.component_sums
        totals = items[items["is_total"] & items["value"].notna()].join(
            sums.loc[sums["complete"], ["sum"]], on="id", how="inner"
        )
        gap = totals["value"] - totals["sum"]
        tolerance = np.maximum(
            settings.params["tolerance_percent"] / 100 * totals["value"].abs(),
            settings.params["tolerance_absolute"],
        )
        wrong = totals.assign(gap=gap)[gap.abs() > tolerance]

        def describe(count, statement_id):
            rows = wrong[wrong["statement_id"] == statement_id]
            first = rows.iloc[0]
            return (
                f"{count} total(s) differ from the sum of their components; "
                f"{first['metric']} is {fmt_amount(first['value'])}, its components add up "
                f"to {fmt_amount(first['sum'])} (off by {fmt_amount(first['gap'])})."
            )

        return per_statement(wrong, settings.severity, describe)
