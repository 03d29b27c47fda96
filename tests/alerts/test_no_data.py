"""No data: keep the state, resolve, or alert as "no data" (Grafana's choice), per rule."""

import base64
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core import mail

from alerts.evaluate import evaluate_rules
from alerts.models import Alert, AlertEvent, Rule
from alerts.tasks import dispatch
from monitoring import fold
from monitoring.recorder import REQUEST, Work
from monitoring.recorder import recorder as the_recorder
from tests.alerts.conftest import email, make_rule, webhook
from tests.alerts.test_admin import rule_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorder():
    the_recorder.reset()
    yield the_recorder
    the_recorder.reset()


def test_a_latency_rule_resolves_once_traffic_stops(recorder, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rule = make_rule(
        [email()],
        source="monitoring.request_latency",
        aggregation="p95",
        window_minutes=5,
        threshold=1000,
    )
    assert rule.no_data == "" and rule.no_data_policy == "resolve"  # the source's default
    base = (int(datetime.now(UTC).timestamp()) // 60 - 30) * 60
    for second in range(base, base + 180):  # three slow minutes, then nothing
        recorder.record(REQUEST, "/api/orders/", "GET", "2xx", 3000.0, False, Work(), at=second)
    assert recorder.flush()
    fold.fold(now=base + 240)

    def tick(minute):
        dispatch(
            evaluate_rules(now=datetime.fromtimestamp(base + minute * 60 + 55, UTC)).notifications
        )
        return Alert.objects.get().state

    assert tick(3) == "firing"
    assert tick(7) == "firing"  # the window still holds slow requests
    assert tick(8) == "resolved"  # the window is empty: no data resolves a latency rule
    alert = Alert.objects.get()
    assert alert.events.last().value is None
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["[HIGH] Firing", "[HIGH] Resolved"]
    assert "no data since" in mail.outbox[1].body


def test_keep_holds_the_state_while_there_is_no_data(clock):
    make_rule(no_data="keep")
    clock.feed([150])
    clock.run(1, 10)
    assert Alert.objects.get().state == "firing"


def test_resolve_closes_a_pending_alert_without_it_ever_firing(clock):
    make_rule(no_data="resolve", for_minutes=5)
    clock.feed([150])
    clock.run(1, 3)
    alert = Alert.objects.get()
    assert alert.state == "inactive" and alert.fired_at is None  # shown as "Cleared"


def test_alert_fires_on_no_data_and_resolves_when_data_is_back(clock, http_receiver):
    make_rule([webhook(http_receiver)], no_data="alert", for_minutes=2)
    clock.tick(1)
    assert Alert.objects.get().state == "pending"
    clock.run(2, 3)
    alert = Alert.objects.get()
    assert (alert.state, alert.value) == ("firing", None)
    assert alert.no_data_since == clock.minute(1)
    clock.feed([50], start=3)
    clock.tick(4)
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.no_data_since is None
    assert [(r.json()["kind"], r.json()["summary"]) for r in http_receiver.delivered] == [
        ("firing", f"no data since {clock.minute(1):%Y-%m-%d %H:%M} UTC"),
        ("resolved", "avg 50 ms, back under 100 ms"),
    ]


def test_a_split_rule_alerting_on_no_data_has_one_alert_for_the_whole_rule(clock):
    make_rule(no_data="alert", group_by=["host"])
    clock.run(1, 2)
    [alert] = Alert.objects.all()
    assert (alert.state, alert.labels) == ("firing", {})
    clock.feed([50], start=2)
    clock.tick(3)
    alert.refresh_from_db()
    assert alert.state == "resolved"
    assert not Alert.objects.filter(state="firing").exists()


def test_each_source_has_a_default_and_the_api_shows_what_applies(admin_client):
    make_rule(name="CPU", source="monitoring.cpu", aggregation="max", threshold=90)
    make_rule(name="CPU kept", source="monitoring.cpu", aggregation="max", threshold=90,
              no_data="keep")  # fmt: skip
    make_rule(name="Latency", source="monitoring.request_latency", aggregation="p95")
    rules = {r["name"]: r for r in admin_client.get("/api/alerts/rules/").json()}
    assert (rules["CPU"]["no_data"], rules["CPU"]["no_data_policy"]) == ("", "alert")
    assert (rules["CPU kept"]["no_data"], rules["CPU kept"]["no_data_policy"]) == ("keep", "keep")
    assert rules["Latency"]["no_data_policy"] == "resolve"


def test_the_rule_form_offers_the_no_data_choice_with_the_sources_defaults(admin_client, metric):
    page = admin_client.get("/admin/alerts/rule/add/").text
    assert 'name="no_data"' in page
    assert "Request latency: resolve" in page and "CPU usage: alert as “no data”" in page
    response = admin_client.post("/admin/alerts/rule/add/", rule_form(no_data="alert"))
    assert response.status_code == 302
    assert Rule.objects.get(name="Slow checkout").no_data == "alert"
    bad = admin_client.post("/admin/alerts/rule/add/", rule_form(name="Other", no_data="maybe"))
    assert bad.status_code == 200
    assert "no_data" in bad.context["adminform"].form.errors


def test_the_preview_backtest_follows_the_no_data_policy(clock):
    from alerts.preview import backtest

    rule = make_rule(no_data="resolve")
    clock.feed([150])
    result = backtest(rule, end=clock.minute(5), span=timedelta(minutes=5))
    assert [t.state for _, t in result.transitions] == ["firing", "resolved"]
    assert AlertEvent.objects.count() == 0


def test_the_preview_marks_a_resolution_on_no_data_at_the_last_value(admin_client, clock):
    for m in range(30, 60):
        clock.source.add(clock.minute(m), 150)  # then the traffic stops
    form = {**rule_form(name="Preview me", no_data="resolve", group_by="", for_minutes="0")}
    form.update(aggregation="max", threshold="100", resolve_threshold="")
    answer = admin_client.post("/admin/alerts/rule/preview/", form).json()
    assert "<strong>resolved 1 time</strong>" in answer["html"]
    [resolved] = [t for t in answer["figure"]["data"] if t.get("name") == "would have resolved"]
    y = resolved["y"]  # plotly sends numbers as typed arrays
    assert np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist() == [150]
