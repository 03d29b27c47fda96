"""The Security dashboard, its overview card, alert sources, retention and demo data."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from alerts.sources import Query, get_source
from security.models import SecurityEvent

pytestmark = pytest.mark.django_db

PAGE = "/admin/dashboards/security/"


def event(kind, minutes_ago=5, **fields):
    return SecurityEvent.objects.create(
        kind=kind, at=timezone.now() - timedelta(minutes=minutes_ago), **fields
    )


def lock_out(username, address):
    client = Client(REMOTE_ADDR=address)
    for i in range(5):
        client.post("/admin/login/", {"username": username, "password": f"guess-{i}"})


def test_staff_need_the_permission(client, django_user_model):
    user = django_user_model.objects.create_user("watcher", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(PAGE).status_code == 403
    user.user_permissions.add(
        Permission.objects.get(codename="view_dashboard", content_type__app_label="security")
    )
    client.force_login(django_user_model.objects.get(pk=user.pk))
    response = client.get(PAGE)
    assert response.status_code == 200
    assert 'href="/admin/dashboards/security/"' in response.text  # in the navigation


def test_the_page_shows_chart_failed_logins_lockouts_and_recent_events(admin_client):
    for minutes in (3, 4, 5):
        event("login_failed", minutes, username="root", address="203.0.113.7")
    event("login_failed", 6, username="admin", address="203.0.113.7")
    event("login", 2, username="alice", address="192.0.2.10", user_agent_class="browser")
    lock_out("mallory", "198.51.100.66")
    response = admin_client.get(PAGE + "?range=24h")
    assert response.status_code == 200
    html = response.text
    assert "plotly-graph-div" in html
    assert "Failed logins by username" in html and "Failed logins by address" in html
    assert "Current lockouts" in html and "198.51.100.66" in html and "mallory" in html
    assert "Recent events" in html and "203.0.113.7" in html


def test_failed_logins_by_username_counts_and_exports_csv(admin_client):
    for minutes in (3, 4, 5):
        event("login_failed", minutes, username="root", address="203.0.113.7")
    event("login_failed", 6, username="admin", address="203.0.113.8")
    response = admin_client.get(PAGE + "?range=24h&export=failed_by_username")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["Username", "Failed logins"]
    assert [r[:2] for r in rows[1:]] == [["root", "3"], ["admin", "1"]]


def test_recent_events_export_in_the_configured_time_zone(admin_client, settings):
    settings.TIME_ZONE = "Europe/Paris"
    at = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    SecurityEvent.objects.create(
        kind="login_failed", at=at, username="=cmd()", address="203.0.113.9"
    )
    response = admin_client.get(PAGE + "?range=24h&export=events")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, *body = rows
    assert header[:4] == ["Time", "Event", "User", "Username"]
    failed = next(r for r in body if r[1] == "Failed login")
    assert failed[0] == timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")
    assert failed[3] == "'=cmd()"  # formula injection neutralised


def test_the_overview_card(admin_client):
    lock_out("mallory", "198.51.100.66")
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert "Security" in response.text and "Failed logins" in response.text
    assert "status-warning" in response.text  # a lockout is in force


def test_alert_sources_count_failed_logins_lockouts_and_new_superusers(django_user_model):
    for minutes in (1, 2, 3, 4):
        event("login_failed", minutes, username="root", address="203.0.113.7")
    event("login_failed", 30, username="admin", address="203.0.113.8")
    event("lockout", 2, username="root", address="203.0.113.7")
    django_user_model.objects.create_superuser("root2", password="pw-long-enough-1")
    now = timezone.now()
    five = timedelta(minutes=5)

    failed = get_source("security.failed_logins")
    assert failed.evaluate([Query.build("rate", five)], now) == [{(): 0.8}]
    assert failed.evaluate(
        [Query.build("count", timedelta(hours=1), group_by=["username"])], now
    ) == [{(("username", "admin"),): 1.0, (("username", "root"),): 4.0}]
    assert get_source("security.lockouts").evaluate([Query.build("count", five)], now) == [
        {(): 1.0}
    ]
    superusers = get_source("security.new_superusers")
    assert superusers.evaluate([Query.build("count", five)], now + timedelta(seconds=1)) == [
        {(): 1.0}
    ]
    assert superusers.evaluate([Query.build("count", five)], now + timedelta(minutes=10)) == [
        {(): 0.0}
    ]


def test_retention_purges_old_events(settings):
    from security.retention import purge

    settings.RETENTION_SECURITY_EVENTS_DAYS = 400
    event("login", 401 * 24 * 60, username="old")
    event("login", 399 * 24 * 60, username="kept")
    assert purge() == 1
    assert list(SecurityEvent.objects.values_list("username", flat=True)) == ["kept"]


def test_the_retention_job_is_scheduled():
    from config.schedule import all_jobs

    assert "security.purge_events" in {job.task for job in all_jobs()}


def test_demo_data_has_logins_failures_and_a_lockout():
    from security import demo

    demo.load(io.StringIO())
    counts = {
        k: SecurityEvent.objects.filter(kind=k).count()
        for k in ("login", "login_failed", "lockout")
    }
    assert counts["login"] > 10 and counts["login_failed"] > 20 and counts["lockout"] >= 1
    oldest = SecurityEvent.objects.order_by("at").first().at
    assert timezone.now() - oldest > timedelta(days=2)
    demo.load(io.StringIO())  # loading twice does not double the data
    assert SecurityEvent.objects.filter(kind="lockout").count() == counts["lockout"]


def test_a_running_demo_keeps_failed_logins_arriving():
    from security import demo

    demo.tick(io.StringIO())
    recent = SecurityEvent.objects.filter(
        kind="login_failed", at__gte=timezone.now() - timedelta(minutes=1)
    )
    assert recent.count() == SecurityEvent.objects.count() > 0
