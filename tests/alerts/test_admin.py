import pytest
from django.contrib.messages import get_messages

from alerts.models import Alert, Channel, Notification, Rule, Silence
from tests.alerts.conftest import make_rule, webhook

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "monitoring.request_latency": ("p95", "gt", 2000, {}),
    "monitoring.db_time": ("p95", "gt", 500, {}),
    "monitoring.error_rate": ("ratio", "gt", 5, {}),
    "rum.vital_p75": ("p75", "gt", 4000, {"vital": "LCP"}),
    "monitoring.cpu": ("avg", "gt", 80, {}),
    "monitoring.memory": ("avg", "gt", 85, {}),
    "monitoring.disk": ("last", "gt", 90, {}),
    "dataquality.average_score": ("avg", "lt", 85, {}),
    "dataquality.critical_issues": ("count", "gt", 0, {}),
}


def rule_form(**overrides):
    form = {
        "name": "Slow checkout",
        "severity": "high",
        "description": "",
        "runbook_url": "",
        "source": "test.metric",
        "aggregation": "avg",
        "filters": "",
        "group_by": "host",
        "window_minutes": "5",
        "operator": "gt",
        "threshold": "800",
        "resolve_threshold": "600",
        "for_minutes": "2",
        "repeat_minutes": "",
        "escalate_after_minutes": "",
        "message": "",
    }
    form.update(overrides)
    return form


def test_the_default_rules_are_seeded_disabled_by_source_key():
    seeded = {r.source: r for r in Rule.objects.all()}
    assert set(DEFAULTS) <= set(seeded)
    for key, (aggregation, operator, threshold, filters) in DEFAULTS.items():
        rule = seeded[key]
        assert (rule.aggregation, rule.operator, rule.threshold) == (
            aggregation,
            operator,
            threshold,
        )
        assert rule.filters == filters
        assert not rule.enabled and not rule.channels.exists()


def test_rules_of_missing_sources_show_source_unavailable(admin_client):
    Rule.objects.all().delete()
    make_rule(name="Retired metric", source="retired.metric")
    make_rule(name="Known metric", source="alerts.delivery_failures", aggregation="count")
    response = admin_client.get("/admin/alerts/rule/")
    assert response.status_code == 200
    assert response.text.count("source unavailable") == 1
    assert "retired.metric <span" in response.text


def test_a_valid_rule_is_saved_from_the_admin(admin_client, metric):
    channel = Channel.objects.create(name="Ops", kind="email", target="ops@example.com")
    response = admin_client.post(
        "/admin/alerts/rule/add/", rule_form(enabled="on", channels=[channel.pk])
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = Rule.objects.get(name="Slow checkout")
    assert (rule.group_by, rule.threshold, rule.resolve_threshold) == (["host"], 800, 600)
    assert rule.enabled and list(rule.channels.all()) == [channel]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"aggregation": "count"}, "aggregation", "test.metric has no aggregation 'count'"),
        ({"aggregation": "p999"}, "aggregation", "Select a valid choice"),
        ({"filters": "route=/x"}, "filters", "no label or parameter route"),
        ({"filters": "host"}, "filters", "is not name=value"),
        ({"group_by": "disk"}, "group_by", "cannot split by disk"),
        ({"resolve_threshold": "900"}, "resolve_threshold", "must not exceed the threshold"),
        ({"operator": "lt", "resolve_threshold": "700"}, "resolve_threshold", "must not be below"),
        ({"enabled": "on"}, "channels", "An enabled rule needs a channel"),
        ({"window_minutes": "0"}, "window_minutes", "the window must be positive"),
        ({"window_minutes": "20000"}, "window_minutes", "less than or equal to 10080"),
        ({"threshold": "fast"}, "threshold", "Enter a number"),
        ({"source": "nope"}, "source", "Select a valid choice"),
        ({"message": "{% if %}"}, "message", "does not parse"),
        ({"escalate_after_minutes": "10"}, "escalation_channels", "needs channels"),
    ],
)
def test_the_rule_form_refuses_bad_input_with_the_reason(
    admin_client, metric, overrides, field, message
):
    response = admin_client.post("/admin/alerts/rule/add/", rule_form(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors.get(field, [])), errors
    assert not Rule.objects.filter(name="Slow checkout").exists()


def test_a_rule_keeps_its_unavailable_source_when_edited(admin_client):
    rule = make_rule(
        name="Retired LCP",
        source="retired.vital_p75",
        aggregation="p75",
        filters={"vital": "LCP"},
        threshold=4000,
        enabled=False,
    )
    channel = Channel.objects.create(name="Ops", kind="email", target="ops@example.com")
    form = rule_form(
        name=rule.name,
        source=rule.source,
        aggregation="p75",
        filters="vital=LCP",
        group_by="",
        threshold="4000",
        resolve_threshold="3500",
        channels=[channel.pk],
    )
    response = admin_client.post(f"/admin/alerts/rule/{rule.pk}/change/", form)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.filters == {"vital": "LCP"} and rule.source == "retired.vital_p75"
    warnings = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("No metric source 'retired.vital_p75' is installed" in m for m in warnings)


def test_the_rule_form_offers_preview_and_lists_the_sources(admin_client, metric):
    response = admin_client.get("/admin/alerts/rule/add/")
    assert 'id="alerts-preview-button"' in response.text
    assert "test.metric" in response.text and "alerts.delivery_failures" in response.text


@pytest.mark.parametrize(
    ("kind", "target", "message"),
    [
        ("webhook", "ftp://example.com/hook", "http:// or https://"),
        ("slack", "hooks.slack.example/abc", "Slack incoming-webhook URL"),
        ("email", "ops@example.com, not-an-address", "'not-an-address' is not an email address"),
    ],
)
def test_the_channel_form_refuses_bad_targets(admin_client, kind, target, message):
    form = {
        "name": "Bad",
        "kind": kind,
        "target": target,
        "payload_format": "json",
        "new_secret": "",
    }
    response = admin_client.post("/admin/alerts/channel/add/", form)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["target"])


def test_a_new_webhook_channel_gets_a_secret(admin_client):
    form = {
        "name": "Hook",
        "kind": "webhook",
        "target": "https://93.184.215.14/hook",  # a public address: no DNS needed
        "payload_format": "alertmanager",
        "new_secret": "",
        "enabled": "on",
    }
    assert admin_client.post("/admin/alerts/channel/add/", form).status_code == 302
    assert len(Channel.objects.get(name="Hook").secret) >= 32


def test_send_test_reaches_the_receiver(admin_client, http_receiver):
    channel = webhook(http_receiver)
    response = admin_client.post(
        "/admin/alerts/channel/",
        {"action": "send_test_notification", "_selected_action": [channel.pk]},
        follow=True,
    )
    assert "Test sent to “Ops webhook”: HTTP 200." in response.text
    [request] = http_receiver.delivered
    assert request.json()["kind"] == "test"


def test_send_test_reports_a_failure_without_disabling_the_channel(admin_client, http_receiver):
    http_receiver.default = 404
    channel = webhook(http_receiver)
    response = admin_client.post(
        "/admin/alerts/channel/",
        {"action": "send_test_notification", "_selected_action": [channel.pk]},
        follow=True,
    )
    assert "Test to “Ops webhook” failed: HTTP 404" in response.text
    channel.refresh_from_db()
    assert channel.enabled
    assert Notification.objects.get().status == "failed"


def test_a_disabled_channel_says_why_in_the_admin(admin_client, clock, http_receiver):
    http_receiver.default = 404
    make_rule([webhook(http_receiver)])
    clock.feed([150])
    clock.tick(1)
    response = admin_client.get("/admin/alerts/channel/")
    assert "disabled: HTTP 404" in response.text
    dashboard = admin_client.get("/admin/dashboards/alerts/")
    assert "is disabled: HTTP 404" in dashboard.text


def test_reenabling_a_channel_clears_the_reason(admin_client, clock, http_receiver):
    http_receiver.default = 404
    channel = webhook(http_receiver)
    make_rule([channel])
    clock.feed([150])
    clock.tick(1)
    channel.refresh_from_db()
    channel.enabled = True
    channel.save()
    channel.refresh_from_db()
    assert (channel.disabled_reason, channel.disabled_at) == ("", None)


def test_an_alert_shows_its_timeline_and_notifications(admin_client, clock, http_receiver):
    make_rule([webhook(http_receiver)], for_minutes=1)
    clock.feed([150, 150, 50])
    clock.run(1, 3)
    alert = Alert.objects.get()
    response = admin_client.get(f"/admin/alerts/alert/{alert.pk}/change/")
    assert response.status_code == 200
    for text in ("inactive", "pending", "firing", "resolved", "Ops webhook"):
        assert text in response.text


def test_the_silence_form_is_prefilled_from_the_dashboard_link(admin_client, clock):
    rule = make_rule()
    response = admin_client.get(f"/admin/alerts/silence/add/?rule={rule.pk}&labels=host%3Dweb-1")
    form = response.context["adminform"].form
    assert form.initial["rule"] == rule.pk
    assert 'value="host=web-1"' in response.text


def test_a_silence_is_saved_with_its_author(admin_client, admin_user, clock):
    rule = make_rule()
    form = {
        "rule": rule.pk,
        "severity": "",
        "labels": "host=web-1",
        "starts_at_0": "2020-01-01",
        "starts_at_1": "00:00",
        "ends_at_0": "2099-01-01",
        "ends_at_1": "00:00",
        "comment": "migrating the database",
    }
    response = admin_client.post("/admin/alerts/silence/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    silence = Silence.objects.get()
    assert (silence.created_by, silence.labels) == (admin_user, {"host": "web-1"})


def test_a_silence_ending_before_it_starts_is_refused(admin_client):
    form = {
        "labels": "",
        "starts_at_0": "2099-01-02",
        "starts_at_1": "00:00",
        "ends_at_0": "2099-01-01",
        "ends_at_1": "00:00",
        "comment": "x",
    }
    response = admin_client.post("/admin/alerts/silence/add/", form)
    assert "The end must be after the start." in response.text


def test_a_maintenance_window_needs_a_real_time_zone(admin_client):
    form = {
        "name": "Backups",
        "labels": "",
        "weekdays": ["5", "6"],
        "start_time": "22:00",
        "end_time": "02:00",
        "time_zone": "Mars/Olympus",
        "enabled": "on",
    }
    response = admin_client.post("/admin/alerts/maintenancewindow/add/", form)
    assert "is not a time zone" in response.text
    form["time_zone"] = "Europe/Berlin"
    assert admin_client.post("/admin/alerts/maintenancewindow/add/", form).status_code == 302


def test_changing_what_a_rule_asks_closes_its_open_alerts_quietly(
    admin_client, clock, http_receiver
):
    rule = make_rule([webhook(http_receiver)], group_by=["host"])
    clock.feed([150, 150])
    clock.tick(1)
    form = rule_form(
        name=rule.name,
        aggregation="avg",
        group_by="",
        threshold="100",
        resolve_threshold="",
        for_minutes="0",
        window_minutes="1",
        enabled="on",
        channels=[rule.channels.get().pk],
    )
    response = admin_client.post(f"/admin/alerts/rule/{rule.pk}/change/", form)
    assert response.status_code == 302
    old = Alert.objects.get(labels_key="host=web-1")
    assert old.state == "resolved"
    assert old.events.last().note.startswith("rule changed")
    assert [r.json()["kind"] for r in http_receiver.delivered] == ["firing"]
    clock.tick(2)
    assert Alert.objects.get(state="firing").labels == {}
