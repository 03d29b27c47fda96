"""The alerts admin in a real browser: the rule form's Preview, acknowledging from the dashboard."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evaluate import evaluate_rules
from alerts.models import Alert, Channel, DeliveryAttempt, Notification, Rule


def failures(channel, *ago):
    """Failed deliveries to `channel`, `ago` before now: data the delivery-failures source reads."""
    now = timezone.now()
    for i, delta in enumerate(ago):
        notification = Notification.objects.create(
            channel=channel,
            kind="test",
            idempotency_key=f"browser-{i}",
            created_at=now - delta,
            status="failed",
        )
        DeliveryAttempt.objects.create(
            notification=notification,
            channel=channel,
            started_at=now - delta,
            duration_ms=5,
            ok=False,
            status_code=503,
            error="HTTP 503",
        )


@pytest.fixture
def pager(transactional_db):
    return Channel.objects.create(name="Pager", kind="webhook", target="http://127.0.0.1:9/")


def test_preview_plots_what_the_unsaved_rule_would_have_done(logged_in_page, live_server, pager):
    failures(pager, timedelta(days=3), timedelta(days=1), timedelta(hours=2))
    page = logged_in_page
    page.goto(f"{live_server.url}/admin/alerts/rule/add/")
    page.fill("#id_name", "Deliveries failing")
    page.select_option("#id_source", "alerts.delivery_failures")
    page.select_option("#id_aggregation", "count")
    page.fill("#id_window_minutes", "60")
    page.fill("#id_threshold", "0")
    page.click("#alerts-preview-button")
    summary = page.locator(".alerts-preview-summary")
    summary.wait_for(timeout=20_000)
    assert "fired 3 times" in summary.inner_text()
    assert "resolved 3 times" in summary.inner_text()
    page.locator("#alerts-preview-result .plot-container").wait_for(timeout=10_000)
    assert page.locator("#alerts-preview-result tbody tr").count() == 6
    assert not Rule.objects.filter(name="Deliveries failing").exists()  # nothing saved


def test_preview_shows_what_is_wrong_with_the_form(logged_in_page, live_server, pager):
    page = logged_in_page
    page.goto(f"{live_server.url}/admin/alerts/rule/add/")
    page.fill("#id_name", "Backwards")
    page.select_option("#id_source", "alerts.delivery_failures")
    page.select_option("#id_aggregation", "count")
    page.fill("#id_threshold", "5")
    page.fill("#id_resolve_threshold", "10")
    page.click("#alerts-preview-button")
    page.locator("#alerts-preview-result .errornote").wait_for(timeout=20_000)
    assert "must not exceed the threshold" in page.inner_text("#alerts-preview-result")


def test_an_alert_is_acknowledged_from_the_dashboard(logged_in_page, live_server, pager):
    rule = Rule.objects.create(
        name="Deliveries failing",
        source="alerts.delivery_failures",
        aggregation="count",
        window_minutes=60,
        threshold=0,
        severity="critical",
        enabled=True,
    )
    failures(pager, timedelta(minutes=10))
    evaluate_rules()
    page = logged_in_page
    page.goto(f"{live_server.url}/admin/dashboards/alerts/")
    assert "1 alert firing: 1 critical" in page.inner_text(".dashboard-banner")
    row = page.locator(f"tr[data-alert='{Alert.objects.get(rule=rule).pk}']")
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state()
    assert "acknowledged by admin" in page.locator("tr[data-alert]").inner_text()
    assert Alert.objects.get(rule=rule).acknowledged_by == "admin"
