"""Planted defects against findings: exact for the rule-based checks, recall and precision
for outliers, and the figures that justify the outlier method."""

import numpy as np
import pandas as pd
import pytest

from dataquality.checks.outliers import outlier_scores
from dataquality.models import Entity, Finding, LineItem
from dataquality.scan import read_batch
from tests.dataquality.conftest import ACCURACY_DEFECTS, load, scan_all

pytestmark = pytest.mark.django_db

EXACT = {
    "balance_equation": ("equation",),
    "totals": ("totals",),
    "duplicates": ("duplicates",),
    "missing_data": ("missing_high", "missing_critical"),
    "negative_balances": ("negatives",),
}


@pytest.fixture
def scanned(accuracy_dataset):
    load(accuracy_dataset)
    scan = scan_all()
    findings = pd.DataFrame(
        Finding.objects.filter(run__scan=scan).values(
            "check_key",
            "severity",
            "sample_ids",
            "statement__entity__name",
            "statement__statement_type",
            "statement__period_end",
        )
    )
    findings["statement"] = list(
        zip(
            findings["statement__entity__name"],
            findings["statement__statement_type"],
            findings["statement__period_end"],
            strict=True,
        )
    )
    return accuracy_dataset, findings


def found_by(findings, check):
    return set(findings.loc[findings["check_key"] == check, "statement"])


def test_each_exact_check_finds_exactly_the_planted_defects(scanned):
    dataset, findings = scanned
    misses, false_alarms = {}, {}
    for check, kinds in EXACT.items():
        planted = dataset.statements_with(*kinds)
        assert len(planted) == sum(ACCURACY_DEFECTS[k] for k in kinds)
        found = found_by(findings, check)
        misses[check] = planted - found
        false_alarms[check] = found - planted
    assert misses == {check: set() for check in EXACT}
    assert false_alarms == {check: set() for check in EXACT}

    # Missing data: high above 5 % empty values, critical above 20 %.
    missing = findings[findings["check_key"] == "missing_data"]
    critical = set(missing.loc[missing["severity"] == "critical", "statement"])
    assert critical == dataset.statements_with("missing_critical")
    high = set(missing.loc[missing["severity"] == "high", "statement"])
    assert high == dataset.statements_with("missing_high")

    # Freshness: the latest statement of each type of the stale entities, nothing else.
    stale = found_by(findings, "freshness")
    assert {entity for entity, _, _ in stale} == set(dataset.stale_entities)
    assert len(stale) == 3 * len(dataset.stale_entities)


def test_outliers_are_found_with_high_recall_and_precision(scanned):
    dataset, findings = scanned
    planted = {(d.statement, d.metric) for d in dataset.defects if d.kind == "outliers"}
    flagged_ids = [
        i for ids in findings.loc[findings["check_key"] == "outliers", "sample_ids"] for i in ids
    ]
    items = LineItem.objects.filter(id__in=flagged_ids).values_list(
        "statement__entity__name", "statement__statement_type", "statement__period_end", "metric"
    )
    flagged = {((e, t, p), m) for e, t, p, m in items}
    recall = len(flagged & planted) / len(planted)
    precision = len(flagged & planted) / len(flagged)
    print(f"\nscan outliers: recall {recall:.2f} precision {precision:.2f}, {len(flagged)} flagged")
    counts = findings.groupby("check_key").size().to_dict()
    print(f"findings per check: {counts}")
    assert recall >= 0.95, recall
    assert precision >= 0.6, precision


def method_figures(series, planted, flagged_mask):
    keys = set(
        zip(
            series["entity"],
            series["statement_type"],
            series["period_end"],
            series["metric"],
            strict=True,
        )
    )
    assert planted <= keys
    flagged = set(
        zip(
            *(
                series.loc[flagged_mask, c]
                for c in ["entity", "statement_type", "period_end", "metric"]
            ),
            strict=True,
        )
    )
    hits = len(flagged & planted)
    return hits / len(planted), (hits / len(flagged) if flagged else 1.0)


def test_the_textbook_outlier_methods_fail_where_ours_does_not(scanned):
    """Why the outlier method is what it is: the figures in the outliers module's docstring."""
    dataset, _ = scanned
    items, _statements = read_batch(Entity.objects.values_list("id", flat=True))
    names = dict(Entity.objects.values_list("id", "name"))
    from dataquality.checks import ScanData

    data = ScanData(items, _statements, np.array([]), pd.Timestamp.now(tz="UTC"))
    series = data.series[data.series["value"].notna()].copy()
    series["entity"] = series["entity_id"].map(names)
    series["period_end"] = series["period_end"].dt.date
    planted = {
        (d.entity, d.statement_type, d.period_end, d.metric)
        for d in dataset.defects
        if d.kind == "outliers"
    }

    by_entity = series.groupby(["entity_id", "statement_type", "metric"])["value"]
    z = (series["value"] - by_entity.transform("mean")) / by_entity.transform("std")
    plain = method_figures(series, planted, z.abs() > 3)

    by_metric = series.groupby(["statement_type", "metric"])["value"]
    median = by_metric.transform("median")
    mad = (
        (series["value"] - median)
        .abs()
        .groupby([series["statement_type"], series["metric"]])
        .transform("median")
    )
    pooled = method_figures(
        series, planted, (0.6745 * (series["value"] - median) / mad).abs() > 3.5
    )

    scored = outlier_scores(series, None, 3)
    ours = method_figures(series, planted, series.index.isin(scored.index[scored["score"] > 25]))

    print(f"\nplain z>3 per entity: recall {plain[0]:.2f} precision {plain[1]:.2f}")
    print(f"pooled modified z>3.5: recall {pooled[0]:.2f} precision {pooled[1]:.2f}")
    print(f"ours (cut-off 25): recall {ours[0]:.2f} precision {ours[1]:.2f}")
    assert plain[0] < 0.5  # short histories: |z| <= (n-1)/sqrt(n) cannot reach 3
    assert pooled[1] < 0.6  # big entities look like outliers of the whole population
    assert ours[0] >= 0.95 and ours[1] >= 0.6
