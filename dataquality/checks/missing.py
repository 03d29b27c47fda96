from __future__ import annotations

import pandas as pd

from dataquality.checks.base import Check, Param, empty_findings, samples_by_statement


class MissingData(Check):
    key = "missing_data"
    title = "Missing data"
    description = "Share of empty values per statement."
    default_severity = "high"
    recommendation = (
        "Fill in the missing values from the source document, or re-import the statement "
        "from a complete export."
    )
    params = (
        Param("high_percent", "High above (%)", 5.0, "Share of empty values that is high."),
        Param("critical_percent", "Critical above (%)", 20.0, "Share that is critical."),
    )

    def run(self, data, settings):
        items = data.in_targets(data.items)
        if items.empty:
            return empty_findings()
        missing = items["value"].isna()
        stats = pd.DataFrame(
            {
                "total": items.groupby("statement_id").size(),
                "nulls": missing.groupby(items["statement_id"]).sum(),
            }
        )
        stats["percent"] = 100.0 * stats["nulls"] / stats["total"]
        high, critical = settings.params["high_percent"], settings.params["critical_percent"]
        flagged = stats[stats["percent"] > high].copy()
        if flagged.empty:
            return empty_findings()
        flagged["severity"] = settings.severity
        flagged.loc[flagged["percent"] > critical, "severity"] = "critical"
        samples = samples_by_statement(items[missing])
        out = pd.DataFrame(
            {
                "statement_id": flagged.index,
                "severity": flagged["severity"].to_numpy(),
                "description": [
                    f"{n} of {t} values are missing ({p:.1f} %)."
                    for n, t, p in zip(
                        flagged["nulls"], flagged["total"], flagged["percent"], strict=True
                    )
                ],
                "affected_rows": flagged["nulls"].astype(int).to_numpy(),
                "sample_ids": samples.reindex(flagged.index).to_numpy(),
            }
        )
        return out
