from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.evaluate import evaluate_rules
from alerts.models import Alert, AlertEvent, DeliveryAttempt, Rule
from config.models import Heartbeat
from tests.alerts.conftest import make_rule

pytestmark = pytest.mark.django_db


def timeline(alert):
    return [(e.previous, e.state, e.value) for e in alert.events.all()]


def test_each_transition_is_stored_with_its_time_and_value(clock):
    make_rule(for_minutes=2)
    clock.feed([150, 160, 170, 50])
    clock.run(1, 4)
    alert = Alert.objects.get()
    assert alert.state == "resolved"
    assert timeline(alert) == [
        ("inactive", "pending", 150),
        ("pending", "firing", 170),
        ("firing", "resolved", 50),
    ]
    assert [e.at for e in alert.events.all()] == [clock.minute(1), clock.minute(3), clock.minute(4)]
    assert (alert.started_at, alert.fired_at, alert.resolved_at) == (
        clock.minute(1),
        clock.minute(3),
        clock.minute(4),
    )


def test_a_new_incident_after_a_resolution_is_a_new_alert(clock):
    make_rule()
    clock.feed([150, 50, 150])
    clock.run(1, 3)
    states = list(Alert.objects.order_by("started_at").values_list("state", flat=True))
    assert states == ["resolved", "firing"]


def test_a_split_rule_keeps_one_alert_per_label_set(clock):
    make_rule(group_by=["host"])
    clock.feed([150, 150], host="web-1")
    clock.feed([50, 50], host="web-2")
    clock.feed([150, 150], host="web-3")
    clock.run(1, 2)
    firing = Alert.objects.filter(state="firing")
    assert sorted(a.labels["host"] for a in firing) == ["web-1", "web-3"]
    assert Alert.objects.count() == 2


def test_no_data_keeps_the_state_and_says_so(clock):
    rule = make_rule()
    clock.feed([150])
    clock.run(1, 5)
    alert = Alert.objects.get()
    assert alert.state == "firing"
    assert alert.no_data_since == clock.minute(2)
    rule.refresh_from_db()
    assert rule.eval_status == "no data"
    clock.feed([150], start=5)
    clock.tick(6)
    alert.refresh_from_db()
    assert (alert.state, alert.no_data_since) == ("firing", None)


def test_a_rule_whose_source_is_not_registered_is_skipped(clock):
    rule = make_rule(source="retired.metric", aggregation="p95")
    working = make_rule(name="Working")
    clock.feed([150])
    clock.tick(1)
    rule.refresh_from_db()
    assert rule.eval_status == "source unavailable"
    assert list(Alert.objects.values_list("rule", flat=True)) == [working.pk]


def test_a_rule_the_source_cannot_answer_says_why(clock):
    rule = make_rule(aggregation="p99")
    clock.feed([150])
    clock.tick(1)
    rule.refresh_from_db()
    assert rule.eval_status.startswith("invalid: test.metric has no aggregation 'p99'")
    assert not Alert.objects.exists()


def test_a_failing_source_does_not_stop_other_rules(clock, metric, monkeypatch):
    from alerts import sources
    from alerts.alert_sources import DeliveryFailures

    def broken(self, queries, start, end):
        raise RuntimeError("rollups unreachable")

    monkeypatch.setattr(DeliveryFailures, "load", broken)
    failing = make_rule(name="Failing", source="alerts.delivery_failures", aggregation="count")
    make_rule()
    clock.feed([150])
    clock.tick(1)
    failing.refresh_from_db()
    assert failing.eval_status == "error: RuntimeError: rollups unreachable"
    assert Alert.objects.get().rule.name == "Latency"
    assert sources.get_source("alerts.delivery_failures")


def test_disabling_a_rule_closes_its_open_alerts(clock):
    rule = make_rule()
    clock.feed([150, 150])
    clock.tick(1)
    Rule.objects.filter(pk=rule.pk).update(enabled=False)
    clock.tick(2)
    alert = Alert.objects.get()
    assert alert.state == "resolved"
    assert alert.events.last().note == "rule disabled or removed"


def test_the_tick_records_its_heartbeat(clock):
    clock.tick(1)
    assert Heartbeat.objects.filter(name="alerts-evaluation").exists()


def test_a_tick_evaluates_at_its_moment_not_its_minute(clock):
    make_rule(window_minutes=1)
    clock.source.add(clock.minute(1) + timedelta(seconds=20), 150)
    # 00:01:59 evaluates over [00:00:59, 00:01:59): the sample of 00:01:20 is seen.
    moment = clock.minute(1) + timedelta(seconds=59)
    evaluate_rules(now=moment)
    alert = Alert.objects.get()
    assert alert.started_at == alert.fired_at == moment


def test_one_evaluate_per_source_whatever_the_number_of_rules(clock, metric):
    for i in range(40):
        make_rule(name=f"rule {i}", threshold=100 + i, window_minutes=1 + i % 5)
    clock.feed([150, 150])
    clock.tick(1)
    assert metric.loads == 1
    assert Alert.objects.filter(state="firing").count() == 40


def _queries_for_a_tick(at):
    with CaptureQueriesContext(connection) as queries:
        evaluate_rules(now=at)
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_rules(clock):
    """Over a database-backed source: 10 rules or 100, the same queries."""
    DeliveryAttempt.objects.all().delete()

    def rules(n, offset):
        for i in range(n):
            make_rule(
                name=f"failures {offset + i}",
                source="alerts.delivery_failures",
                aggregation="count",
                threshold=1000 + i,
                window_minutes=5 + i,
            )

    rules(10, 0)
    clock.tick(1)  # first tick: statuses are written
    few = _queries_for_a_tick(clock.minute(2))
    rules(90, 10)
    clock.tick(3)
    many = _queries_for_a_tick(clock.minute(4))
    assert few == many
    assert many <= 20


def test_the_events_of_many_alerts_are_written_in_bulk(clock):
    for i in range(30):
        make_rule(name=f"rule {i}", group_by=["host"])
    for host in ("a", "b", "c"):
        clock.feed([150], host=host)
    queries = _queries_for_a_tick(clock.minute(1))
    assert AlertEvent.objects.count() == 90
    assert queries <= 20


@pytest.mark.parametrize(
    "broken",
    [{"operator": "xx"}, {"threshold": float("nan")}, {"no_data": "later"}, {"group_by": 7}],
)
def test_a_rule_broken_in_the_database_is_reported_and_the_others_still_run(clock, broken):
    # Written behind the form's back (a script, a restored dump): the tick must go on.
    rule = make_rule(name="Broken")
    clock.feed([150])
    clock.tick(1)
    assert Alert.objects.get(rule=rule).state == "firing"
    Rule.objects.filter(pk=rule.pk).update(**broken)
    working = make_rule(name="Working")
    clock.feed([150, 150], start=1)
    clock.tick(2)
    rule.refresh_from_db()
    assert rule.eval_status.startswith("invalid: ")
    assert Alert.objects.get(rule=working).state == "firing"
    # The broken rule's alert keeps its state until the rule is fixed.
    assert Alert.objects.get(rule=rule).state == "firing"
    assert Heartbeat.objects.exists()
