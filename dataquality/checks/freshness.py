from __future__ import annotations

import pandas as pd

from dataquality.checks.base import Check, Param, empty_findings


class Freshness(Check):
    key = "freshness"
    title = "Freshness"
    description = "An entity's latest statement is older than its expected cadence."
    default_severity = "medium"
    recommendation = (
        "Import the entity's newer statements, or correct its expected cadence if it "
        "reports less often."
    )
    params = (
        Param(
            "grace_days",
            "Grace period (days)",
            45,
            "Days allowed after a period's expected end for the statement to be filed.",
            kind="int",
        ),
    )

    def run(self, data, settings):
        statements = data.statements
        if statements.empty:
            return empty_findings()
        latest_at = statements.groupby(["entity_id", "statement_type"])["period_end"].transform(
            "max"
        )
        latest = statements[statements["period_end"] == latest_at]
        due = (
            latest["period_end"]
            + pd.to_timedelta(latest["cadence_days"], unit="D")
            + pd.Timedelta(days=settings.params["grace_days"])
        )
        today = pd.Timestamp(data.now.date())
        stale = latest[(due < today) & latest["statement_id"].isin(data.targets)]
        if stale.empty:
            return empty_findings()
        age = (today - stale["period_end"]).dt.days
        return pd.DataFrame(
            {
                "statement_id": stale["statement_id"].to_numpy(),
                "severity": settings.severity,
                "description": [
                    f"The latest statement of this type ends {days} days ago; one is expected "
                    f"every {cadence} days."
                    for days, cadence in zip(age, stale["cadence_days"], strict=True)
                ],
                "affected_rows": 0,
                "sample_ids": [[] for _ in range(len(stale))],
            }
        )
