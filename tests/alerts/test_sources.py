from datetime import UTC, datetime, timedelta

import pytest

from alerts import sources
from alerts.sources import MetricSource, Query, SourceError

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Loads:
    """A source over an in-memory list of (time, host, value) samples."""

    key = "test.samples"
    label = "Samples"
    unit = "%"
    aggregations = ("avg", "max")
    labels = ("host",)

    def __init__(self):
        self.samples = []
        self.loads = 0

    def load(self, queries, start, end):
        self.loads += 1
        return [s for s in self.samples if start <= s[0] < end]

    def compute(self, data, query, at):
        grouped = {}
        for moment, host, value in data:
            if at - query.window <= moment < at and query.params.get("host", host) == host:
                key = (("host", host),) if "host" in query.group_by else ()
                grouped.setdefault(key, []).append(value)
        pick = {"avg": lambda v: sum(v) / len(v), "max": max}[query.aggregation]
        return {key: pick(values) for key, values in grouped.items()}


@pytest.fixture
def source():
    cls = type("SampleSource", (Loads, MetricSource), {})
    sources.register(cls)
    yield sources.get_source("test.samples")
    sources.unregister("test.samples")


def test_many_queries_share_one_load(source):
    source.samples = [(T0 - timedelta(minutes=m), h, float(m)) for m in range(10) for h in "ab"]
    queries = [Query.build("avg", timedelta(minutes=w)) for w in (2, 5, 10)]
    values = source.evaluate(queries, T0)
    assert source.loads == 1
    # Windows are half-open, [at - window, at): the sample at T0 itself is out.
    assert values == [{(): 1.5}, {(): 3.0}, {(): 5.0}]


def test_a_split_query_answers_per_label_set(source):
    source.samples = [
        (T0 - timedelta(minutes=1), "a", 10.0),
        (T0 - timedelta(minutes=1), "b", 90.0),
    ]
    [values] = source.evaluate([Query.build("max", timedelta(minutes=5), group_by=["host"])], T0)
    assert values == {(("host", "a"),): 10.0, (("host", "b"),): 90.0}


def test_no_data_leaves_the_label_set_out(source):
    assert source.evaluate([Query.build("avg", timedelta(minutes=5))], T0) == [{}]


def test_series_answers_what_evaluate_would_have(source):
    source.samples = [(T0 + timedelta(minutes=m), "a", float(m % 7)) for m in range(120)]
    query = Query.build("avg", timedelta(minutes=15))
    points = source.series(
        query, T0 + timedelta(minutes=30), T0 + timedelta(minutes=90), timedelta(minutes=1)
    )
    assert len(points) == 61
    for at, value in points[::10]:
        assert value == source.evaluate([query], at)[0]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (Query.build("p99", timedelta(minutes=5)), "no aggregation 'p99'"),
        (Query.build("avg", timedelta(minutes=5), {"route": "/"}), "no label or parameter route"),
        (Query.build("avg", timedelta(minutes=5), group_by=["disk"]), "cannot split by disk"),
        (Query.build("avg", timedelta(0)), "window must be positive"),
    ],
)
def test_bad_queries_are_refused_with_the_reason(source, query, message):
    with pytest.raises(SourceError, match=message):
        source.validate(query)


def test_an_unknown_source_is_refused():
    with pytest.raises(SourceError, match="no metric source 'nope'"):
        sources.get_source("nope")
