"""The alert metric sources: average score and open critical issues, per entity or overall."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.sources import Query, get_source
from tests.dataquality.conftest import scan_all
from tests.dataquality.helpers import balance_sheet, join, load_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """Acme 100 all along; Globex 20 (critical) a week ago, 100 since yesterday."""
    now = timezone.now()
    load_csv(
        join(
            balance_sheet("Acme", assets=(60_000, 40_000), liabilities=(50_000,), equity=(50_000,)),
            balance_sheet(
                "Globex", assets=(120_000, -20_000), liabilities=(60_000,), equity=(10_000,)
            ),
        )
    )
    scan_all(now=now - timedelta(days=7))
    load_csv(
        balance_sheet("Globex", assets=(60_000, 40_000), liabilities=(50_000,), equity=(50_000,)),
        "fixed.csv",
    )
    scan_all(now=now - timedelta(days=1))
    return now


def test_the_average_score_is_the_mean_of_each_statements_latest_run(history):
    source = get_source("dataquality.average_score")
    now = history
    queries = [
        Query.build("avg", timedelta(hours=1)),
        Query.build("min", timedelta(hours=1)),
        Query.build("avg", timedelta(hours=1), group_by=["entity"]),
    ]
    with CaptureQueriesContext(connection) as captured:
        values = source.evaluate(queries, now)
    assert len(captured) <= 3  # one load for every query
    assert values == [
        {(): 100.0},
        {(): 100.0},
        {(("entity", "Acme"),): 100.0, (("entity", "Globex"),): 100.0},
    ]
    before_the_fix = source.evaluate(queries[:2], now - timedelta(days=3))
    assert before_the_fix == [{(): 60.0}, {(): 20.0}]


def test_critical_issues_count_open_findings(history):
    source = get_source("dataquality.critical_issues")
    now = history
    split = Query.build("count", timedelta(minutes=5), group_by=["entity"])
    assert source.evaluate([split], now - timedelta(days=3)) == [
        {(("entity", "Acme"),): 0.0, (("entity", "Globex"),): 1.0}
    ]
    assert source.evaluate([split], now)[0][(("entity", "Globex"),)] == 0.0


def test_a_filter_on_the_entity_answers_for_it_alone(history):
    source = get_source("dataquality.critical_issues")
    query = Query.build("count", timedelta(minutes=5), {"entity": "Globex"})
    source.validate(query)
    assert source.evaluate([query], history - timedelta(days=3)) == [{(): 1.0}]


def test_no_runs_yet_means_no_value(db):
    source = get_source("dataquality.average_score")
    assert source.evaluate([Query.build("avg", timedelta(hours=1))], timezone.now()) == [{}]


@pytest.mark.parametrize("key", ["dataquality.average_score", "dataquality.critical_issues"])
def test_series_agrees_with_evaluate_at_every_step(history, key):
    source = get_source(key)
    aggregation = source.aggregations[0]
    query = Query.build(aggregation, timedelta(hours=6), group_by=["entity"])
    now = history
    points = source.series(query, now - timedelta(days=10), now, timedelta(hours=12))
    assert len(points) == 21
    for at, value in points:
        assert value == source.evaluate([query], at)[0], at
    assert len({str(v) for _, v in points}) == 3  # nothing yet, then before and after the fix


def test_entity_names_are_offered_as_label_values(history):
    assert get_source("dataquality.average_score").label_values("entity") == ["Acme", "Globex"]
