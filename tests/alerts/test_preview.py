import json
import random
from datetime import timedelta

import pytest

from alerts.models import AlertEvent
from alerts.models.alerts import labels_key
from alerts.preview import backtest
from tests.alerts.conftest import make_rule

pytestmark = pytest.mark.django_db

MINUTES = 240


def wandering(seed: int) -> list[float | None]:
    """A value drifting across the thresholds, with gaps (no data)."""
    rng = random.Random(seed)
    value, values = 90.0, []
    for _ in range(MINUTES):
        value = min(max(value + rng.uniform(-12, 12), 40), 160)
        values.append(None if rng.random() < 0.08 else round(value, 1))
    return values


def test_previews_backtest_agrees_with_what_live_evaluation_does(clock):
    rule = make_rule(
        window_minutes=5, for_minutes=3, resolve_threshold=85, group_by=["host"], aggregation="avg"
    )
    clock.feed(wandering(1), host="web-1")
    clock.feed(wandering(2), host="web-2")
    clock.run(1, MINUTES)
    live = sorted(
        (e.alert.labels_key, e.at, e.previous, e.state, e.value)
        for e in AlertEvent.objects.select_related("alert")
    )
    result = backtest(rule, end=clock.minute(MINUTES), span=timedelta(minutes=MINUTES))
    replayed = sorted(
        (labels_key(labels), t.at, t.previous, t.state, t.value) for labels, t in result.transitions
    )
    assert len(live) >= 10, "the data should make the rule change state several times"
    assert {state for *_, state, _ in live} >= {"pending", "firing", "resolved", "inactive"}
    assert replayed == live
    assert result.fired == sum(1 for row in live if row[3] == "firing")


def test_the_preview_answers_the_unsaved_form_with_a_chart(admin_client, clock):
    now_minute = clock.minute(0)
    for m in range(1, 120):
        clock.source.add(now_minute + timedelta(minutes=m), 150 if 30 <= m < 60 else 50)
    form = {
        "name": "Preview me",
        "severity": "high",
        "source": "test.metric",
        "aggregation": "max",
        "window_minutes": "5",
        "operator": "gt",
        "threshold": "100",
        "resolve_threshold": "",
        "for_minutes": "0",
        "filters": "",
        "group_by": "",
    }
    response = admin_client.post("/admin/alerts/rule/preview/", form)
    assert response.status_code == 200
    answer = response.json()
    assert "would have <strong>fired 1 time</strong>" in answer["html"]
    assert "<strong>resolved 1 time</strong>" in answer["html"]
    figure = answer["figure"]
    shapes = figure["layout"]["shapes"]
    assert [shape["y0"] for shape in shapes] == [100]
    names = [trace.get("name") for trace in figure["data"]]
    assert "would have fired" in names and "would have resolved" in names
    json.dumps(figure)  # a plain JSON figure the page can plot


def test_the_preview_reports_form_errors(admin_client):
    response = admin_client.post(
        "/admin/alerts/rule/preview/", {"name": "x", "source": "test.metric", "threshold": "abc"}
    )
    assert response.status_code == 400
    assert "threshold" in response.json()["errors"]
    assert "Fix the form first" in response.json()["html"]


def test_the_preview_of_an_unavailable_source_says_so(admin_client):
    from alerts.models import Rule

    rule = Rule.objects.create(
        name="Retired latency",
        source="retired.latency",
        aggregation="p95",
        window_minutes=5,
        operator="gt",
        threshold=2000,
        severity="high",
    )
    form = {
        "rule_id": rule.pk,
        "name": rule.name,
        "severity": "high",
        "source": rule.source,
        "aggregation": "p95",
        "window_minutes": "5",
        "operator": "gt",
        "threshold": "2000",
        "for_minutes": "5",
    }
    response = admin_client.post("/admin/alerts/rule/preview/", form)
    assert response.status_code == 200
    html = response.json()["html"]
    assert "No preview: no metric source" in html and "retired.latency" in html
