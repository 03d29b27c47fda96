"""The Audit log page, its CSV export, the read-only admin and retention."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from audit import retention
from audit.models import AuditEntry
from config import audit
from tests.alerts.conftest import make_rule

pytestmark = pytest.mark.django_db

PAGE = "/admin/dashboards/audit/"


def as_user(user, address="203.0.113.9"):
    return audit.acting(audit.Actor("test", address, user=user))


@pytest.fixture
def history(django_user_model):
    alice = django_user_model.objects.create_user("alice", password="pw", is_staff=True)
    bob = django_user_model.objects.create_user("bob", password="pw", is_staff=True)
    with as_user(alice):
        rule = make_rule(name="Checkout latency", threshold=800, enabled=True)
    with as_user(bob, "198.51.100.4"):
        rule.threshold = 900
        rule.save()
        audit.record("export", "performance-endpoints", rows=3)
    return rule


def table_rows(response):
    return response.context["tables"][0].rows


def test_the_page_filters_by_user_model_object_and_action(admin_client, history):
    everything = table_rows(admin_client.get(PAGE))
    assert {r["user"] for r in everything} >= {"alice", "bob"}

    by_bob = table_rows(admin_client.get(PAGE, {"user": "bob"}))
    assert {r["action"] for r in by_bob} == {"update", "export"}
    assert all(r["address"] == "198.51.100.4" for r in by_bob)

    updates = table_rows(admin_client.get(PAGE, {"model": "alerts.rule", "action": "update"}))
    assert [r["changes"] for r in updates] == ["threshold: 800.0 -> 900.0"]
    by_object = table_rows(admin_client.get(PAGE, {"object": "checkout"}))
    assert {r["action"] for r in by_object} == {"create", "update"}
    assert table_rows(admin_client.get(PAGE, {"object": "nothing like it"})) == []


def test_the_page_keeps_to_the_time_range(admin_client, history):
    AuditEntry.objects.filter(action="export").update(at=timezone.now() - timedelta(days=3))
    assert "export" not in {r["action"] for r in table_rows(admin_client.get(PAGE))}
    week = table_rows(admin_client.get(PAGE, {"range": "7d"}))
    assert "export" in {r["action"] for r in week}


def test_the_page_exports_the_filtered_rows_as_csv(admin_client, history):
    response = admin_client.get(PAGE, {"user": "bob", "export": "entries"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0][:5] == ["When", "User", "Client address", "From", "Action"]
    assert sorted(line[4] for line in lines[1:]) == ["export", "update"]
    assert [line[7] for line in lines[1:] if line[4] == "update"] == ["threshold: 800.0 -> 900.0"]


def test_times_are_shown_in_the_configured_time_zone(admin_client, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    audit.record("export", "x")
    AuditEntry.objects.filter(action="export").update(at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    response = admin_client.get(
        PAGE, {"range": "custom", "start": "2026-03-01T00:00", "end": "2026-03-02T00:00"}
    )
    assert [r["when"] for r in table_rows(response)] == ["2026-03-01 21:00:00 JST"]
    assert "2026-03-01 21:00:00 JST" in response.text


def test_the_page_needs_the_audit_permission(client, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(PAGE).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    assert client.get(PAGE).status_code == 200


def test_nobody_can_add_change_or_delete_audit_rows_in_the_admin(admin_client, history):
    entry = AuditEntry.objects.filter(action="update").first()
    count = AuditEntry.objects.count()
    assert admin_client.get("/admin/audit/auditentry/add/").status_code == 403
    change = f"/admin/audit/auditentry/{entry.pk}/change/"
    page = admin_client.get(change)
    assert page.status_code == 200 and "threshold: 800.0 -&gt; 900.0" in page.text
    assert 'name="_save"' not in page.text
    assert admin_client.post(change, {"action": "forged"}).status_code == 403
    assert (
        admin_client.post(
            f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    listing = admin_client.post(
        "/admin/audit/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk]}
    )
    assert listing.status_code == 200  # no such action: nothing deleted
    entry.refresh_from_db()
    assert entry.action == "update"
    assert AuditEntry.objects.count() >= count


def test_retention_purges_only_old_rows(settings, history):
    settings.AUDIT_RETENTION_DAYS = 400
    AuditEntry.objects.filter(action="export").update(at=timezone.now() - timedelta(days=401))
    assert retention.purge() == 1
    assert not AuditEntry.objects.filter(action="export").exists()
    assert AuditEntry.objects.filter(action="update").exists()
