"""Defects the checks used to pass in silence or blame on the wrong statement, planted in
generated statements and compared with a recomputation from the generated rows."""

import pandas as pd
import pytest

from dataquality import synthetic
from dataquality.checks.base import fmt_amount
from dataquality.models import PENALTIES, Finding, LineItem, Statement
from tests.dataquality.conftest import load, scan_all
from tests.dataquality.test_checks import configure

pytestmark = pytest.mark.django_db


def generated(today, **defects):
    dataset = synthetic.generate(
        seed=14, today=today, entities=24, periods=(3, 10), defects=defects, stale=0
    )
    load(dataset)
    return dataset


def statement_frame(rows: pd.DataFrame) -> dict:
    """The generated rows of each statement, by (entity, type, period end)."""
    rows = rows.assign(number=pd.to_numeric(rows["value"], errors="coerce"))
    return {
        (e, t, pd.Timestamp(p).date()): group
        for (e, t, p), group in rows.groupby(["entity", "statement_type", "period_end"])
    }


def findings_of(check):
    """The check's findings of the one scan, by statement."""
    found = {}
    for f in Finding.objects.filter(check_key=check).select_related("statement__entity"):
        s = f.statement
        key = (s.entity.name, s.statement_type, s.period_end)
        assert key not in found
        found[key] = f
    return found


def scores():
    return {
        (s.entity.name, s.statement_type, s.period_end): s.latest_run.score
        for s in Statement.objects.select_related("entity", "latest_run")
    }


def missing_penalty(lines: pd.DataFrame) -> int:
    """What the missing-data check costs a statement, from its share of empty values."""
    share = 100 * lines["number"].isna().mean()
    return PENALTIES["critical"] if share > 20 else PENALTIES["high"] if share > 5 else 0


def test_a_balance_sheet_with_an_empty_total_is_judged_from_its_components(today):
    dataset = generated(today, equation_empty_total=8, equation_not_evaluable=8)
    scan_all()
    rows = statement_frame(dataset.rows)
    found = findings_of("balance_equation")
    score = scores()

    empty_total = dataset.statements_with("equation_empty_total")
    not_evaluable = dataset.statements_with("equation_not_evaluable")
    assert len(empty_total) == len(not_evaluable) == 8
    # Nothing else is reported: every other balance sheet balances on its totals.
    assert set(found) == empty_total | not_evaluable

    for statement in empty_total:
        lines = rows[statement]
        parts = lines[lines["parent"] != ""].groupby("category")["number"].sum()
        gap = parts["assets"] - parts["liabilities"] - parts["equity"]
        finding = found[statement]
        assert finding.severity == "critical"
        assert f"Assets {fmt_amount(parts['assets'])} (total_assets computed" in (
            finding.description
        )
        assert f"(off by {fmt_amount(gap)})" in finding.description
        # 100 - 50 (the equation) - the empty total line's missing-data penalty
        assert score[statement] == 100 - 50 - missing_penalty(lines)

    for statement in not_evaluable:
        lines = rows[statement]
        [total] = [d.metric for d in dataset.defects if d.statement == statement]
        finding = found[statement]
        assert finding.severity == "medium"
        assert finding.description.startswith("Not evaluable:")
        assert f"{total} is empty and 1 of its" in finding.description
        empty = set(
            LineItem.objects.filter(statement=finding.statement, value__isnull=True).values_list(
                "id", flat=True
            )
        )
        assert set(finding.sample_ids) == empty and len(empty) == 2
        assert score[statement] == 100 - 15 - missing_penalty(lines)


def test_the_quarter_after_a_sign_error_is_not_blamed(today):
    dataset = generated(today, sign_errors=12)
    # A negated value is 200 % from its neighbours; the noise of clean data is ~3 %.
    configure("inconsistent_values", max_change_percent=150.0)
    scan_all()
    rows = dataset.rows[dataset.rows["metric"] == "operating_cash_flow"].copy()
    rows["number"] = rows["value"].astype(float)
    rows["period_end"] = pd.to_datetime(rows["period_end"]).dt.date
    history = rows.sort_values("period_end").groupby("entity")

    planted = dataset.statements_with("sign_errors")
    after = set()
    for entity, _, period_end in planted:
        own = history.get_group(entity)
        later = own[own["period_end"] > period_end]["period_end"]
        after.add((entity, "cash_flow", later.min()))
        # recomputed: the negated value against the median of up to two quarters each side
        position = list(own["period_end"]).index(period_end)
        values = own["number"].tolist()
        neighbours = values[max(0, position - 2) : position] + values[position + 1 : position + 3]
        reference = pd.Series(neighbours).median()
        assert abs(values[position] - reference) / abs(reference) > 1.5
    assert len(planted) == len(after) == 12

    found = findings_of("inconsistent_values")
    assert set(found) == planted
    score = scores()
    assert {score[s] for s in planted} == {100 - 15}
    assert {score[s] for s in after} == {100}


def test_outliers_on_totals_that_nothing_sums_are_found(today):
    dataset = generated(today, total_outliers=12)
    scan_all()
    planted = {(d.statement, d.metric) for d in dataset.defects}
    assert {metric for _, metric in planted} == {"net_income"}
    found = findings_of("outliers")
    lines = LineItem.objects.filter(id__in=[i for f in found.values() for i in f.sample_ids])
    flagged = {
        ((e, t, p), m)
        for e, t, p, m in lines.values_list(
            "statement__entity__name",
            "statement__statement_type",
            "statement__period_end",
            "metric",
        )
    }
    assert flagged == planted
    score = scores()
    assert {score[s] for s, _ in planted} == {100 - 15}
    # the generated rows agree: net income there is 20-60 times its level in other quarters
    rows = dataset.rows[dataset.rows["metric"] == "net_income"].copy()
    rows["number"] = rows["value"].astype(float)
    for (entity, _kind, period_end), _ in planted:
        own = rows[rows["entity"] == entity]
        value = own.loc[own["period_end"] == period_end.isoformat(), "number"].item()
        assert abs(value) > 15 * own["number"].abs().median()
