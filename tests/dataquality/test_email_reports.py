"""Scheduled email reports, sent to a real SMTP server on 127.0.0.1 (aiosmtpd)."""

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from dataquality.email_reports import send_due_reports, send_report
from dataquality.models import ReportSubscription
from tests.dataquality.conftest import scan_all
from tests.dataquality.helpers import balance_sheet, join, load_csv
from tests.support import closed_port, free_port

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


@pytest.fixture
def inbox(settings):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "https://monitor.example.com"
    yield handler
    controller.stop()


@pytest.fixture
def week():
    """Acme 100 all week; Globex fine a week ago, unbalanced since two days (critical)."""
    now = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)  # a Monday
    period = (now - timedelta(days=30)).date().isoformat()
    load_csv(
        join(
            balance_sheet(
                "Acme",
                period=period,
                assets=(60_000, 40_000),
                liabilities=(50_000,),
                equity=(50_000,),
            ),
            balance_sheet(
                "Globex",
                period=period,
                assets=(60_000, 40_000),
                liabilities=(50_000,),
                equity=(50_000,),
            ),
        )
    )
    scan_all(now=now - timedelta(days=8))
    load_csv(
        balance_sheet(
            "Globex",
            period=period,
            assets=(120_000, -20_000),
            liabilities=(60_000,),
            equity=(10_000,),
        ),
        "globex-v2.csv",
    )
    scan_all(now=now - timedelta(days=2))
    return now


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_the_weekly_report_arrives_with_figures_links_and_recommendations(inbox, week):
    subscription = ReportSubscription.objects.create(
        name="Finance", recipients="cfo@example.com, controller@example.com", frequency="weekly"
    )
    delivery = send_report(subscription, now=week)
    assert delivery.ok, delivery.error
    [(recipients, message)] = inbox.messages
    assert recipients == ["cfo@example.com", "controller@example.com"]
    assert message["Subject"] == "Data quality report: Finance (average score 60)"
    text, html = parts(message)

    # average 60 now (100 and 20), 100 a week ago: -40
    assert "Average score: 60.0 (-40.0 since 2026-04-27)" in text
    assert "Open issues: 2, of which critical: 1" in text
    assert "New critical issues (1)" in text
    assert "Globex balance sheet" in text and "off by 30,000" in text
    assert "- 20  Globex balance sheet" in text
    link = "https://monitor.example.com/admin/dashboards/data-quality-statement/?statement="
    assert link in text
    assert "Balance-sheet equation (1 statement): Find the side that is off" in text

    assert "60.0" in html and "-40.0 since 2026-04-27" in html
    assert f'<a href="{link}' in html
    assert "Negative balances" in html
    subscription.refresh_from_db()
    assert subscription.last_sent_at == week


def test_a_report_covers_only_the_chosen_entities(inbox, week):
    from dataquality.models import Entity

    subscription = ReportSubscription.objects.create(
        name="Acme only", recipients="acme@example.com", frequency="daily"
    )
    subscription.entities.add(Entity.objects.get(name="Acme"))
    send_report(subscription, now=week)
    text, _ = parts(inbox.messages[0][1])
    assert "Average score: 100.0" in text
    assert "Globex" not in text
    assert "Every statement scores 100." in text


def test_due_reports_go_out_once_per_period(inbox, week):
    ReportSubscription.objects.create(name="Daily", recipients="a@example.com", frequency="daily")
    ReportSubscription.objects.create(name="Weekly", recipients="b@example.com", frequency="weekly")
    ReportSubscription.objects.create(name="Paused", recipients="c@example.com", active=False)
    send_due_reports(now=week)
    send_due_reports(now=week + timedelta(hours=1))  # the task retried: nothing twice
    assert sorted(r[0] for r, _ in inbox.messages) == ["a@example.com", "b@example.com"]
    send_due_reports(now=week + timedelta(days=1))  # Tuesday: the daily one only
    assert [r[0] for r, _ in inbox.messages[2:]] == ["a@example.com"]


def test_a_failed_send_is_retried_by_the_next_run(settings, week, inbox):
    subscription = ReportSubscription.objects.create(name="Finance", recipients="cfo@example.com")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = closed_port()
    [failed] = send_due_reports(now=week)
    assert not failed.ok and failed.error
    assert inbox.messages == []
    settings.EMAIL_PORT = port
    [retried] = send_due_reports(now=week + timedelta(hours=1))
    assert retried.pk == failed.pk and retried.ok
    assert len(inbox.messages) == 1
    assert subscription.deliveries.count() == 1


def test_send_now_in_the_admin(admin_client, inbox, week):
    subscription = ReportSubscription.objects.create(name="Finance", recipients="cfo@example.com")
    response = admin_client.post(
        "/admin/dataquality/reportsubscription/",
        {"action": "send_now", "_selected_action": [subscription.pk]},
        follow=True,
    )
    assert "Sent Finance to cfo@example.com" in response.text
    assert len(inbox.messages) == 1


def test_recipients_are_validated_in_the_admin(admin_client):
    response = admin_client.post(
        "/admin/dataquality/reportsubscription/add/",
        {
            "name": "x",
            "recipients": "ok@example.com, not-an-address",
            "frequency": "daily",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "Not an email address: not-an-address" in response.text
    assert ReportSubscription.objects.count() == 0


def test_the_report_task_sends_due_reports(inbox, week):
    from dataquality.tasks import send_reports

    ReportSubscription.objects.create(name="Daily", recipients="a@example.com", frequency="daily")
    send_reports.delay()
    assert len(inbox.messages) == 1


def test_a_long_list_of_new_critical_issues_is_cut_with_a_count(week):
    from dataquality.email_reports import build_report, render_email

    period = (week - timedelta(days=30)).date().isoformat()
    unbalanced = [
        balance_sheet(
            f"Entity {i:02d}",
            period=period,
            assets=(60_000, 40_000),
            liabilities=(10_000,),
            equity=(10_000,),
        )
        for i in range(25)
    ]
    load_csv(join(*unbalanced), "many.csv")
    scan_all(now=week - timedelta(days=1))
    subscription = ReportSubscription.objects.create(name="All", recipients="a@example.com")
    report = build_report(subscription, now=week)
    assert report.new_critical_total == 26  # 25 new entities and Globex
    assert len(report.new_critical) == 20
    _, text, html = render_email(report)
    assert "New critical issues (26)" in text
    assert "... and 6 more on the dashboard." in text
    assert "and 6 more on the dashboard" in html
