"""Brute-force protection on the real admin login form (django-axes)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "right-horse-battery-staple"


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD, is_staff=True)


def attempt(client, username, password, **extra):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra
    )


def logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_fifty_wrong_passwords_then_the_right_one_does_not_log_in(client, alice):
    codes = [attempt(client, "alice", f"guess-{i}").status_code for i in range(50)]
    assert codes[:4] == [200] * 4  # the form again, with its error
    assert set(codes[4:]) == {429}  # the fifth failure locks
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.text
    assert not logged_in(client)


def test_a_few_mistakes_do_not_lock(client, alice):
    for i in range(4):
        assert attempt(client, "alice", f"typo-{i}").status_code == 200
    assert attempt(client, "alice", PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_lockout_answer_is_the_same_for_an_existing_and_a_made_up_username(alice):
    answers = []
    for username, address in (("alice", "198.51.100.1"), ("nobody-here", "198.51.100.2")):
        client = Client(REMOTE_ADDR=address)
        for i in range(5):
            attempt(client, username, f"guess-{i}")
        # The right password of an existing user changes nothing while locked.
        locked = attempt(client, username, PASSWORD if username == "alice" else "x")
        answers.append((locked.status_code, locked.text))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429
    assert "alice" not in answers[0][1]


def test_one_address_trying_many_usernames_is_locked_out(alice):
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for i in range(5):
        attempt(attacker, f"user{i}", "password")
    assert attempt(attacker, "alice", PASSWORD).status_code == 429
    # alice from her own address is not concerned by that address's lock.
    assert attempt(Client(REMOTE_ADDR="192.0.2.10"), "alice", PASSWORD).status_code == 302


def test_one_username_tried_from_many_addresses_is_locked_out(alice):
    for i in range(5):
        attempt(Client(REMOTE_ADDR=f"203.0.113.{i + 1}"), "alice", "password")
    assert attempt(Client(REMOTE_ADDR="192.0.2.10"), "alice", PASSWORD).status_code == 429


def test_rotating_x_forwarded_for_does_not_escape_the_address_lock(alice, settings):
    settings.TRUSTED_PROXIES = []
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for i in range(5):
        attempt(attacker, f"user{i}", "password", HTTP_X_FORWARDED_FOR=f"10.9.8.{i}")
    response = attempt(attacker, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.8.200")
    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_is_locked_on_its_own(alice, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    for i in range(5):
        attempt(proxy, f"user{i}", "password", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert attempt(proxy, "x", "y", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429
    response = attempt(proxy, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.10")
    assert response.status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.9"}


def test_the_lock_ends_after_the_configured_minutes(client, alice, settings):
    for i in range(5):
        attempt(client, "alice", f"guess-{i}")
    assert attempt(client, "alice", PASSWORD).status_code == 429
    # Time passes: the failures are now older than LOGIN_LOCKOUT_MINUTES (15).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, "alice", PASSWORD).status_code == 302
    assert logged_in(client)


def test_trying_on_during_the_lock_does_not_extend_it(client, alice):
    for i in range(5):
        attempt(client, "alice", f"guess-{i}")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14))
    for i in range(3):
        assert attempt(client, "alice", f"more-{i}").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, "alice", PASSWORD).status_code == 302


def test_an_admin_unlocks_from_the_admin(client, alice, admin_client):
    for i in range(5):
        attempt(client, "alice", f"guess-{i}")
    assert attempt(client, "alice", PASSWORD).status_code == 429

    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "alice" in listing.text
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    response = admin_client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert attempt(client, "alice", PASSWORD).status_code == 302


def test_the_limit_is_configurable(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    attempt(client, "alice", "one")
    assert attempt(client, "alice", "two").status_code == 429
