from __future__ import annotations

from dataquality.checks.base import Check, per_statement


class Duplicates(Check):
    key = "duplicates"
    title = "Duplicates"
    description = "The same metric and period more than once in a statement."
    default_severity = "medium"
    recommendation = (
        "Delete the repeated lines (keep the one that matches the source document) and "
        "check the export for rows written twice."
    )

    def run(self, data, settings):
        items = data.in_targets(data.items)
        repeated = items[items.duplicated(["statement_id", "metric", "period"], keep=False)]

        def describe(count, statement_id):
            metrics = repeated.loc[repeated["statement_id"] == statement_id, "metric"].nunique()
            return f"{count} lines repeat {metrics} metric(s) for the same period."

        return per_statement(repeated, settings.severity, describe)
