"""What a notification says is true at the moment it is sent."""

import pytest

from alerts.models import Alert
from tests.alerts.conftest import make_rule, webhook

pytestmark = pytest.mark.django_db


def summaries(receiver):
    return [(r.json()["kind"], r.json()["summary"]) for r in receiver.delivered]


def test_the_resolved_message_says_the_value_is_back_under_the_threshold(clock, http_receiver):
    make_rule([webhook(http_receiver)], threshold=30)
    clock.feed([45, 11])
    clock.run(1, 2)
    assert summaries(http_receiver) == [
        ("firing", "avg 45 ms > 30 ms"),
        ("resolved", "avg 11 ms, back under 30 ms"),
    ]


def test_a_rule_alerting_below_a_floor_resolves_back_over_it(clock, http_receiver):
    make_rule([webhook(http_receiver)], operator="lt", threshold=30)
    clock.feed([12, 40])
    clock.run(1, 2)
    assert summaries(http_receiver)[1] == ("resolved", "avg 40 ms, back over 30 ms")


def test_resolution_with_hysteresis_names_the_resolve_threshold(clock, http_receiver):
    make_rule([webhook(http_receiver)], threshold=30, resolve_threshold=20)
    clock.feed([45, 25, 15])
    clock.run(1, 3)
    assert summaries(http_receiver) == [
        ("firing", "avg 45 ms > 30 ms"),
        ("resolved", "avg 15 ms, back under 20 ms"),
    ]


def test_a_repeat_says_the_current_value_even_between_the_two_thresholds(clock, http_receiver):
    make_rule([webhook(http_receiver)], threshold=30, resolve_threshold=20, repeat_minutes=1)
    clock.feed([45, 50, 25])
    clock.run(1, 3)
    assert summaries(http_receiver) == [
        ("firing", "avg 45 ms > 30 ms"),
        ("repeat", "avg 50 ms > 30 ms"),
        ("repeat", "avg 25 ms, still above 20 ms (fired above 30 ms)"),
    ]
    assert Alert.objects.get().state == "firing"
