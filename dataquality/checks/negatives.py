from __future__ import annotations

from dataquality.checks.base import Check, Param, per_statement


class NegativeBalances(Check):
    key = "negative_balances"
    title = "Negative balances"
    description = "Negative values in categories that cannot be negative."
    default_severity = "high"
    recommendation = (
        "Check the sign convention of the source: amounts in these categories are reported "
        "as positive numbers; a contra account belongs on its own line in another category."
    )
    params = (
        Param(
            "categories",
            "Categories that cannot be negative",
            ["assets", "liabilities", "revenue", "expenses"],
            "Comma-separated categories.",
            kind="list",
        ),
    )

    def run(self, data, settings):
        items = data.in_targets(data.unique_items)
        negative = items[
            (items["value"] < 0) & items["category"].isin(settings.params["categories"])
        ]
        return per_statement(
            negative,
            settings.severity,
            lambda count, _: f"{count} line(s) are negative where the category does not allow it.",
        )
