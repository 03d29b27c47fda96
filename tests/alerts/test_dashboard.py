import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from alerts.acks import acknowledge
from alerts.models import Alert, Rule
from tests.alerts.conftest import make_rule, webhook

pytestmark = pytest.mark.django_db

PAGE = "/admin/dashboards/alerts/"


def incident(rule, fired_ago, lasted=None, acked_after=None, labels=None):
    """A recorded incident, `fired_ago` before now."""
    now = timezone.now()
    fired = now - fired_ago
    return Alert.objects.create(
        rule=rule,
        labels=labels or {},
        labels_key=",".join(f"{k}={v}" for k, v in (labels or {}).items()),
        state="resolved" if lasted else "firing",
        value=150,
        started_at=fired,
        fired_at=fired,
        resolved_at=fired + lasted if lasted else None,
        evaluated_at=now,
        acknowledged_at=fired + acked_after if acked_after else None,
        acknowledged_by="alice" if acked_after else "",
    )


def test_the_page_lists_firing_alerts_with_acknowledge_and_silence_buttons(admin_client, clock):
    rule = make_rule(group_by=["host"])
    clock.feed([150] * 3, host="web-1")
    clock.run(1, 2)
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    html = response.text
    alert = Alert.objects.get()
    assert f'action="/admin/alerts/alert/{alert.pk}/acknowledge/"' in html
    assert f"/admin/alerts/silence/add/?rule={rule.pk}&amp;labels=host%3Dweb-1" in html
    assert "alert-state-firing" in html and "host=web-1" in html
    assert "plotly-graph-div" in html  # the incident timeline


def test_the_acknowledge_button_acknowledges_and_comes_back(admin_client, admin_user, clock):
    make_rule()
    clock.feed([150])
    clock.tick(1)
    alert = Alert.objects.get()
    response = admin_client.post(
        f"/admin/alerts/alert/{alert.pk}/acknowledge/", {"next": PAGE + "?range=7d"}
    )
    assert response.status_code == 302 and response["Location"] == PAGE + "?range=7d"
    alert.refresh_from_db()
    assert alert.acknowledged_by == admin_user.username
    assert alert.events.last().note == f"acknowledged by {admin_user.username}"


def test_who_may_only_view_the_dashboard_gets_no_buttons_and_cannot_acknowledge(
    client, staff_user, clock
):
    make_rule()
    clock.feed([150])
    clock.tick(1)
    alert = Alert.objects.get()
    staff_user.user_permissions.add(
        Permission.objects.get(codename="view_dashboard", content_type__app_label="alerts")
    )
    client.force_login(staff_user)
    html = client.get(PAGE).text
    assert "alert-state-firing" in html
    assert "/acknowledge/" not in html and "/admin/alerts/silence/add/" not in html
    response = client.post(f"/admin/alerts/alert/{alert.pk}/acknowledge/", {"next": PAGE})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None

    staff_user.user_permissions.add(Permission.objects.get(codename="change_alert"))
    assert "/acknowledge/" in client.get(PAGE).text
    client.post(f"/admin/alerts/alert/{alert.pk}/acknowledge/", {"next": PAGE})
    alert.refresh_from_db()
    assert alert.acknowledged_by == staff_user.username


def test_the_acknowledge_button_refuses_an_outside_redirect(admin_client, clock):
    make_rule()
    clock.feed([150])
    clock.tick(1)
    alert = Alert.objects.get()
    response = admin_client.post(
        f"/admin/alerts/alert/{alert.pk}/acknowledge/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == PAGE


def test_per_rule_times_fired_mtta_and_mttr(admin_client):
    rule = make_rule(name="Checkout latency")
    incident(
        rule, timedelta(hours=5), lasted=timedelta(minutes=30), acked_after=timedelta(minutes=4)
    )
    incident(
        rule, timedelta(hours=3), lasted=timedelta(minutes=10), acked_after=timedelta(minutes=6)
    )
    incident(rule, timedelta(days=3), lasted=timedelta(minutes=50))  # outside the 24 h range
    response = admin_client.get(PAGE + "?export=rules")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows == [
        {
            "Rule": "Checkout latency",
            "Severity": "High",
            "Times fired": "2",
            "Acknowledged": "2",
            "MTTA": "300",
            "MTTR": "1200",
            "Firing now": "0",
        }
    ]
    html = admin_client.get(PAGE).text
    assert "5 min" in html and "20 min" in html
    week = list(csv.DictReader(io.StringIO(admin_client.get(PAGE + "?range=7d&export=rules").text)))
    assert week[0]["Times fired"] == "3"


def test_notification_failures_are_listed(admin_client, clock, http_receiver):
    http_receiver.default = 404
    make_rule([webhook(http_receiver)])
    clock.feed([150])
    clock.tick(1)
    response = admin_client.get(PAGE + "?export=failures")
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["Channel"], row["Code"], row["Then"]) == (
        "Ops webhook",
        "404",
        "gave up, channel disabled",
    )


def test_the_page_needs_its_permission(staff_client, staff_user):
    assert staff_client.get(PAGE).status_code == 403
    staff_user.user_permissions.add(
        Permission.objects.get(codename="view_dashboard", content_type__app_label="alerts")
    )
    assert staff_client.get(PAGE).status_code == 200


def test_the_overview_card_shows_no_data_until_a_rule_is_enabled(admin_client):
    card = _card(admin_client)
    assert card.status == "nodata"


def test_the_overview_card_counts_firing_alerts_by_severity(admin_client):
    incident(make_rule(name="a", severity="medium"), timedelta(minutes=5))
    card = _card(admin_client)
    assert card.status == "warning"
    assert dict(card.metrics) == {"Critical": "0", "High": "0", "Medium": "1", "Low": "0"}
    incident(make_rule(name="b", severity="critical"), timedelta(minutes=5))
    assert _card(admin_client).status == "critical"


def test_the_overview_card_is_good_when_rules_run_and_nothing_fires(admin_client):
    make_rule()
    card = _card(admin_client)
    assert (card.status, card.note) == ("good", "Nothing is firing.")


def _card(client):
    response = client.get("/admin/")
    return next(c for c in response.context["cards"] if c.title == "Alerts")


def test_firing_alerts_show_as_a_banner_on_every_admin_page(admin_client):
    incident(make_rule(severity="high"), timedelta(minutes=5))
    incident(make_rule(name="other", severity="low"), timedelta(minutes=5))
    for url in ("/admin/", "/admin/auth/user/", "/admin/alerts/rule/"):
        html = admin_client.get(url).text
        assert "dashboard-banner-critical" in html
        assert "2 alerts firing: 1 high, 1 low" in html


def test_no_banner_when_nothing_fires_or_without_the_permission(admin_client, staff_client):
    rule = make_rule(severity="low")
    assert "dashboard-banner" not in admin_client.get("/admin/").text
    incident(rule, timedelta(minutes=5))
    assert "dashboard-banner-warning" in admin_client.get("/admin/").text
    assert "alerts firing" not in staff_client.get("/admin/").text


def test_the_status_api_answers_staff_with_json(admin_client):
    rule = make_rule(severity="critical")
    incident(rule, timedelta(minutes=5), labels={"host": "web-1"})
    answer = admin_client.get("/api/alerts/status/").json()
    assert answer["status"] == "critical"
    assert answer["firing"] == {"low": 0, "medium": 0, "high": 0, "critical": 1}
    [alert] = answer["alerts"]
    assert (alert["rule"], alert["labels"], alert["state"]) == (
        "Latency",
        {"host": "web-1"},
        "firing",
    )
    assert 290 <= alert["age_seconds"] <= 400


def test_the_rules_api_lists_rules_with_source_availability(admin_client, metric):
    make_rule()
    make_rule(name="Retired", source="retired.metric")
    rules = {r["name"]: r for r in admin_client.get("/api/alerts/rules/").json()}
    assert rules["Latency"]["source_available"] is True
    assert rules["Retired"]["source_available"] is False
    assert len(rules) == Rule.objects.count()


def test_the_api_refuses_anonymous_and_unprivileged_users(client, staff_client):
    assert client.get("/api/alerts/status/").status_code == 403
    assert staff_client.get("/api/alerts/status/").status_code == 403
    assert staff_client.get("/api/alerts/rules/").status_code == 403


def test_acknowledging_twice_is_harmless(clock):
    make_rule()
    clock.feed([150])
    clock.tick(1)
    alert = Alert.objects.get()
    assert acknowledge(alert, by="alice")
    assert not acknowledge(alert, by="bob")
    alert.refresh_from_db()
    assert alert.acknowledged_by == "alice"
