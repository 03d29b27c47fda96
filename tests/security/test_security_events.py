"""Security events: logins, lockouts, 403s, token use and changes of users and groups."""

import json
import logging

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from security.models import SecurityEvent
from security.useragent import classify

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "right-horse-battery-staple"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD, is_staff=True)


def browser(address="192.0.2.10"):
    return Client(REMOTE_ADDR=address, HTTP_USER_AGENT=CHROME)


def login(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def kinds():
    return list(SecurityEvent.objects.order_by("pk").values_list("kind", flat=True))


def test_a_successful_login_is_recorded_with_address_and_user_agent_class(alice):
    SecurityEvent.objects.all().delete()
    assert login(browser(), "alice", PASSWORD).status_code == 302
    event = SecurityEvent.objects.get(kind="login")
    assert event.user == alice and event.username == "alice"
    assert event.address == "192.0.2.10"
    assert event.user_agent_class == "browser"
    assert event.path == LOGIN


def test_a_failed_login_keeps_the_attempted_username(alice):
    login(Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="curl/8.5.0"), "ghost", "x")
    event = SecurityEvent.objects.get(kind="login_failed")
    assert event.username == "ghost" and event.user is None
    assert event.address == "203.0.113.9" and event.user_agent_class == "script"


def test_the_address_follows_the_trusted_proxy_rule(alice, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    Client(REMOTE_ADDR="10.0.0.1").post(
        LOGIN, {"username": "ghost", "password": "x"}, HTTP_X_FORWARDED_FOR="198.51.100.4"
    )
    Client(REMOTE_ADDR="203.0.113.9").post(
        LOGIN, {"username": "ghost", "password": "x"}, HTTP_X_FORWARDED_FOR="198.51.100.4"
    )
    addresses = SecurityEvent.objects.filter(kind="login_failed").values_list("address", flat=True)
    assert sorted(addresses) == ["198.51.100.4", "203.0.113.9"]


def test_a_logout_is_recorded(alice):
    client = browser()
    login(client, "alice", PASSWORD)
    client.post("/admin/logout/")
    event = SecurityEvent.objects.get(kind="logout")
    assert event.user == alice and event.username == "alice"


def test_a_lockout_is_recorded_once_not_on_every_refused_attempt(alice):
    client = browser()
    for i in range(8):
        login(client, "alice", f"guess-{i}")
    lockouts = SecurityEvent.objects.filter(kind="lockout")
    assert lockouts.count() == 1
    assert lockouts.get().username == "alice" and lockouts.get().address == "192.0.2.10"
    assert SecurityEvent.objects.filter(kind="login_failed").count() == 8


def test_permission_denied_on_admin_and_api_pages_is_recorded(alice):
    client = browser()
    client.force_login(alice)
    assert client.get("/admin/dashboards/security/").status_code == 403
    assert client.get("/api/alerts/status/").status_code == 403
    denied = SecurityEvent.objects.filter(kind="permission_denied").order_by("pk")
    assert [e.path for e in denied] == ["/admin/dashboards/security/", "/api/alerts/status/"]
    assert {e.user for e in denied} == {alice}


def test_metrics_token_use_is_recorded_once_an_hour_per_address_and_a_wrong_one_each_time(
    settings,
):
    settings.METRICS_TOKEN = "scrape-token"
    scraper = Client(REMOTE_ADDR="192.0.2.50", HTTP_USER_AGENT="Prometheus/2.53.0")
    for _ in range(3):
        assert scraper.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token").status_code == 200
    for _ in range(2):
        assert scraper.get("/metrics", HTTP_AUTHORIZATION="Bearer guess").status_code == 403
    assert kinds() == ["token_used", "token_rejected", "token_rejected"]
    used = SecurityEvent.objects.get(kind="token_used")
    assert used.address == "192.0.2.50" and used.path == "/metrics"
    assert used.user_agent_class == "bot"


def test_changes_of_users_are_recorded(django_user_model):
    user = django_user_model.objects.create_user("bob", password="first-password-1")
    user.is_staff = True
    user.save()
    user.is_superuser = True
    user.save()
    user.set_password("second-password-2")
    user.save()
    user.is_superuser = False
    user.save()
    user.delete()
    events = SecurityEvent.objects.order_by("pk")
    assert [(e.kind, e.subject) for e in events] == [
        ("user_created", "bob"),
        ("user_changed", "bob"),
        ("superuser_granted", "bob"),
        ("password_changed", "bob"),
        ("superuser_revoked", "bob"),
        ("user_deleted", "bob"),
    ]
    assert events[1].detail == "made staff"


def test_a_superuser_created_as_such_counts_as_a_superuser_granted(django_user_model):
    django_user_model.objects.create_superuser("root2", password="pw-long-enough-1")
    assert kinds() == ["user_created", "superuser_granted"]


def test_group_and_permission_membership_changes_are_recorded(alice):
    SecurityEvent.objects.all().delete()
    ops = Group.objects.create(name="ops")
    permission = Permission.objects.get(codename="view_dashboard", content_type__app_label="alerts")
    alice.groups.add(ops)
    ops.user_set.remove(alice)
    alice.user_permissions.add(permission)
    ops.permissions.add(permission)
    alice.groups.add(ops)
    alice.groups.clear()
    rows = list(SecurityEvent.objects.order_by("pk").values_list("kind", "subject", "detail"))
    assert rows == [
        ("group_changed", "ops", "created"),
        ("groups_changed", "alice", "added to ops"),
        ("groups_changed", "alice", "removed from ops"),
        ("permissions_changed", "alice", "granted alerts.view_dashboard"),
        ("permissions_changed", "group ops", "granted alerts.view_dashboard"),
        ("groups_changed", "alice", "added to ops"),
        ("groups_changed", "alice", "removed from ops"),
    ]


def test_a_change_made_in_the_admin_names_who_made_it(alice, admin_user):
    admin = browser("192.0.2.99")
    admin.force_login(admin_user)
    response = admin.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {"password1": "a-new-long-password-9", "password2": "a-new-long-password-9"},
    )
    assert response.status_code == 302
    event = SecurityEvent.objects.get(kind="password_changed")
    assert event.subject == "alice"
    assert event.user == admin_user and event.username == admin_user.username
    assert event.address == "192.0.2.99"


def test_a_broken_recorder_never_breaks_a_login(alice, monkeypatch, caplog):
    # A real database error: the events table is not where the model looks.
    monkeypatch.setattr(SecurityEvent._meta, "db_table", "no_such_table")
    client = browser()
    with caplog.at_level(logging.ERROR, logger="security.events"):
        assert login(client, "alice", "wrong").status_code == 200
        assert login(client, "alice", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200
    assert "could not record security event login" in caplog.text


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME, "browser"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
        ("Prometheus/2.53.0", "bot"),
        ("curl/8.5.0", "script"),
        ("python-requests/2.32.3", "script"),
        ("Go-http-client/1.1", "script"),
        ("", "unknown"),
        ("Something/1.0", "unknown"),
    ],
)
def test_user_agent_classes(user_agent, expected):
    assert classify(user_agent) == expected


def test_the_admin_shows_events_read_only(admin_client, alice):
    login(browser(), "ghost", "x")
    event = SecurityEvent.objects.get(kind="login_failed")
    listing = admin_client.get("/admin/security/securityevent/")
    assert listing.status_code == 200 and "ghost" in listing.text
    assert admin_client.get(f"/admin/security/securityevent/{event.pk}/change/").status_code == 200
    assert admin_client.get("/admin/security/securityevent/add/").status_code == 403
    response = admin_client.post(
        f"/admin/security/securityevent/{event.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert SecurityEvent.objects.filter(pk=event.pk).exists()


def test_a_refused_rum_beacon_is_not_a_security_event():
    # The public beacon endpoint answers 403 to an unknown site key: a data problem.
    body = {
        "key": "no-such-site",
        "session": "a" * 32,
        "page_view": "b" * 32,
        "url": "https://shop.example/",
        "events": [{"id": "e1", "type": "pageview", "title": "Home"}],
    }
    response = browser().post(
        "/api/rum/beacon/",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        HTTP_ORIGIN="https://shop.example",
    )
    assert response.status_code == 403
    assert not SecurityEvent.objects.filter(kind="permission_denied").exists()


def test_an_address_that_is_not_an_ip_is_left_empty(alice):
    # A unix socket's peer: the login works, the event has no address, the lock
    # counts by username alone.
    client = Client(REMOTE_ADDR="unix:/run/gunicorn.sock")
    assert login(client, "ghost", "x").status_code == 200
    event = SecurityEvent.objects.get(kind="login_failed")
    assert event.address is None and event.username == "ghost"
    assert login(client, "alice", PASSWORD).status_code == 302


def test_an_admin_deleting_their_own_account_is_recorded_by_name(admin_user):
    admin = browser()
    admin.force_login(admin_user)
    response = admin.post(f"/admin/auth/user/{admin_user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    event = SecurityEvent.objects.get(kind="user_deleted")
    assert event.subject == "admin" and event.username == "admin" and event.user is None
