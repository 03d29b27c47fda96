from __future__ import annotations

import numpy as np

from dataquality.checks.base import Check, Param, per_statement


class InconsistentValues(Check):
    key = "inconsistent_values"
    title = "Inconsistent values"
    description = "A metric changes too much from the entity's previous period."
    default_severity = "medium"
    recommendation = (
        "Confirm the change with the source: a jump like this is usually a unit error "
        "(thousands vs units), a sign error or a line mapped to the wrong metric."
    )
    params = (
        Param(
            "max_change_percent",
            "Largest change (%)",
            200.0,
            "Period-over-period change of a metric beyond which it is flagged.",
        ),
    )

    def run(self, data, settings):
        series = data.series.sort_values(["entity_id", "statement_type", "metric", "period"])
        previous = series.groupby(["entity_id", "statement_type", "metric"])["value"].shift(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = (series["value"] - previous) / previous.abs()
        limit = settings.params["max_change_percent"] / 100
        jumped = series[(previous != 0) & (change.abs() > limit)]
        jumped = data.in_targets(jumped)
        return per_statement(
            jumped,
            settings.severity,
            lambda count, _: (
                f"{count} metric(s) changed by more than "
                f"{settings.params['max_change_percent']:g} % from the previous period."
            ),
        )
