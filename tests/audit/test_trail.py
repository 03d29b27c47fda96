"""The audit trail: every configuration change and sensitive act, with who, where and what."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django_celery_beat.models import PeriodicTask

from alerts.deliveries import disable_channel
from alerts.models import Channel, Rule
from audit.models import AuditEntry
from dataquality.models import CheckConfig
from monitoring.models import QueryFingerprint
from rum.models import Event, Site
from tests.alerts.conftest import make_rule
from tests.dataquality.helpers import balance_sheet
from tests.rum.conftest import ORIGIN, beacon, post

pytestmark = pytest.mark.django_db

RULE_FORM = {
    "name": "API p95",
    "severity": "high",
    "description": "",
    "runbook_url": "",
    "source": "monitoring.request_latency",
    "aggregation": "p95",
    "filters": "",
    "group_by": "",
    "window_minutes": "5",
    "operator": "gt",
    "threshold": "2000",
    "resolve_threshold": "",
    "for_minutes": "0",
    "repeat_minutes": "",
    "escalate_after_minutes": "",
    "message": "",
}


def rows(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def latency_rule(**fields):
    values = {"name": "API p95", "source": "monitoring.request_latency", "aggregation": "p95"}
    return make_rule(**{**values, "threshold": 2000, "window_minutes": 5, **fields})


def test_disabling_rules_with_the_admin_action_records_each_rule_before_and_after(admin_client):
    rule = latency_rule()
    other = latency_rule(name="DB p95", enabled=False)
    stamped = rule.updated_at
    AuditEntry.objects.all().delete()

    response = admin_client.post(
        "/admin/alerts/rule/",
        {"action": "disable_rules", "_selected_action": [rule.pk, other.pk]},
        REMOTE_ADDR="198.51.100.7",
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert not rule.enabled and rule.updated_at > stamped
    [change] = rows(action="update")
    assert (change.model, change.object_id, change.object_repr) == (
        "alerts.rule",
        str(rule.pk),
        "API p95",
    )
    assert change.changes == {"enabled": [True, False]}
    assert (change.username, change.address) == ("admin", "198.51.100.7")
    assert change.source == "POST /admin/alerts/rule/"
    [action] = rows(action="admin action")
    assert action.model == "alerts.rule" and action.username == "admin"
    assert action.detail["name"] == "disable_rules"
    assert sorted(action.detail["objects"]) == sorted([str(rule.pk), str(other.pk)])


def test_disabling_a_rule_in_its_change_form_records_before_and_after(admin_client):
    channel = Channel.objects.create(name="Ops mail", kind="email", target="ops@example.com")
    rule = latency_rule()
    AuditEntry.objects.all().delete()

    form = {**RULE_FORM, "threshold": "2500", "channels": [channel.pk]}  # "enabled" unticked
    response = admin_client.post(f"/admin/alerts/rule/{rule.pk}/change/", form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    [fields, channels] = rows(model="alerts.rule")
    assert fields.changes == {"enabled": [True, False], "threshold": [2000.0, 2500.0]}
    assert channels.changes == {"channels": [[], ["Ops mail"]]}
    assert {fields.username, channels.username} == {"admin"}
    assert fields.address == "127.0.0.1"


def test_a_channel_secret_is_recorded_as_changed_and_never_stored(admin_client, settings):
    settings.ALERTS_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # a receiver of our own
    form = {
        "name": "Hook",
        "kind": "webhook",
        "target": "http://127.0.0.1:9/services/T0/B0/first-url-token",
        "payload_format": "json",
        "new_secret": "first-signing-secret-0001",
        "enabled": "on",
    }
    assert admin_client.post("/admin/alerts/channel/add/", form).status_code == 302
    channel = Channel.objects.get(name="Hook")
    form.update(
        target="http://127.0.0.1:9/services/T0/B0/second-url-token",
        new_secret="second-signing-secret-0002",
        payload_format="alertmanager",
    )
    response = admin_client.post(f"/admin/alerts/channel/{channel.pk}/change/", form)
    assert response.status_code == 302

    [created, changed] = rows(model="alerts.channel")
    assert created.action == "create" and created.changes["secret"] == "changed"
    assert changed.changes == {
        "target": "changed",
        "secret": "changed",
        "payload_format": ["json", "alertmanager"],
    }
    everything = json.dumps(list(AuditEntry.objects.values()), default=str)
    for secret in ("first-signing-secret", "second-signing-secret", "url-token"):
        assert secret not in everything
    page = admin_client.get(f"/admin/audit/auditentry/{changed.pk}/change/").text
    assert "secret: changed" in page and "second-signing-secret" not in page


def test_a_change_that_rolls_back_leaves_no_audit_row():
    rule = latency_rule()
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        rule.threshold = 1
        rule.save()
        assert AuditEntry.objects.count() == before + 1  # written inside the transaction
        raise RuntimeError("the change fails after the save")
    assert AuditEntry.objects.count() == before
    assert Rule.objects.get(pk=rule.pk).threshold == 2000


def test_a_command_change_is_recorded_with_the_command_name():
    PeriodicTask.objects.filter(name="Purge audit trail").delete()
    AuditEntry.objects.all().delete()
    call_command("seed_schedules")
    [created] = rows(model="django_celery_beat.periodictask", action="create")
    assert created.object_repr.startswith("Purge audit trail")
    assert created.source == "command seed_schedules" and created.username == ""
    assert created.changes["task"] == [None, "audit.purge"]


def test_a_change_made_by_a_task_is_recorded_with_the_task_and_reason():
    channel = Channel.objects.create(name="Ops hook", kind="webhook", target="https://x.example/h")
    disable_channel(channel, "HTTP 404")
    [entry] = rows(model="alerts.channel", action="update")
    assert entry.changes == {"enabled": [True, False], "disabled_reason": ["", "HTTP 404"]}


def test_threshold_user_and_group_changes_are_recorded(admin_client, django_user_model):
    check = CheckConfig.objects.create(
        check_key="missing_data", severity="high", params={"high": 5}
    )
    check.params = {"high": 10}
    check.save()
    user = django_user_model.objects.create_user("carol", password="first-password-1")
    group = Group.objects.create(name="On call")
    user.groups.add(group)
    user.set_password("second-password-2")
    user.save()

    [threshold] = rows(model="dataquality.checkconfig", action="update")
    assert threshold.changes == {"params": [{"high": 5}, {"high": 10}]}
    user_rows = rows(model="auth.user", object_id=str(user.pk))
    assert [r.action for r in user_rows] == ["create", "update", "update"]
    assert user_rows[1].changes == {"groups": [[], ["On call"]]}
    assert user_rows[2].changes == {"password": "changed"}
    assert "pbkdf2" not in json.dumps(list(AuditEntry.objects.values("changes")))


def test_a_csv_export_is_recorded(admin_client):
    response = admin_client.get("/admin/dashboards/alerts/?export=rules")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    [export] = rows(action="export")
    assert export.model == "alerts-rules" and export.username == "admin"


def test_an_import_from_the_admin_and_from_the_command_is_recorded(
    admin_client, tmp_path, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("acme.csv", balance_sheet().encode(), "text/csv")
    with django_capture_on_commit_callbacks(execute=True):  # the upload's job, in a worker
        response = admin_client.post("/admin/dataquality/statement/import/", {"file": upload})
    assert response.status_code == 302
    path = tmp_path / "globex.csv"
    path.write_text(balance_sheet(entity="Globex"))
    call_command("import_statements", str(path), "--no-scan")

    [by_admin, by_command] = rows(action="import")
    assert by_admin.username == "admin" and by_admin.detail["file"] == "acme.csv"
    assert by_admin.detail["line_items"] == 5
    assert by_command.source == "command import_statements"
    assert by_command.detail["file"] == "globex.csv"


def test_a_gdpr_deletion_is_recorded(admin_client, client):
    Site.objects.create(name="Shop", public_key="shop-key", allowed_origins=ORIGIN)
    post(client, beacon(session="visitor1"))
    one = Event.objects.filter(session_id="visitor1").first()
    response = admin_client.post(
        "/admin/rum/event/", {"action": "forget_sessions", "_selected_action": [one.pk]}
    )
    assert response.status_code == 302 and not Event.objects.exists()
    [deletion] = rows(action="gdpr delete")
    assert deletion.detail == {"sessions": 1, "events": 6}
    assert deletion.username == "admin" and deletion.address == "127.0.0.1"
    assert rows(action="admin action")[0].detail["name"] == "forget_sessions"


def test_an_explain_is_recorded(admin_client):
    statement = QueryFingerprint.objects.create(
        fingerprint="b" * 16,
        statement='SELECT "auth_user"."id" FROM "auth_user" WHERE "auth_user"."id" = ?',
        first_seen="2026-01-01T00:00Z",
        last_seen="2026-01-01T00:00Z",
    )
    response = admin_client.post(f"/admin/dashboards/performance-query/?fingerprint={'b' * 16}")
    assert response.status_code == 200 and response.context["plan"]
    [entry] = rows(action="explain")
    assert entry.detail["statement"] == statement.statement and entry.username == "admin"


def test_deleting_a_schedule_records_the_tasks_that_went_with_it_by_name(admin_client):
    task = PeriodicTask.objects.get(name="Purge audit trail")
    schedule = task.crontab or task.interval
    response = admin_client.post(
        f"/admin/django_celery_beat/{type(schedule)._meta.model_name}/",
        {"action": "delete_selected", "_selected_action": [schedule.pk], "post": "yes"},
    )
    assert response.status_code == 302
    gone = rows(model="django_celery_beat.periodictask", action="delete")
    assert any(row.object_repr.startswith("Purge audit trail") for row in gone)


def test_an_admin_action_that_updates_in_bulk_still_records_before_and_after(admin_client):
    task = PeriodicTask.objects.get(name="Purge audit trail")
    assert task.enabled
    response = admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [task.pk]},
    )
    assert response.status_code == 302
    [change] = rows(model="django_celery_beat.periodictask", action="update")
    assert change.object_id == str(task.pk) and change.changes == {"enabled": [True, False]}
    assert change.username == "admin"
    assert rows(action="admin action")[-1].detail["name"] == "disable_tasks"


@pytest.mark.urls("tests.audit.api_urls")
def test_an_api_change_is_recorded_with_the_user_the_api_authenticated(client, staff_user):
    rule = latency_rule()
    client.force_login(staff_user)
    response = client.post(f"/api/rules/{rule.pk}/disable/", REMOTE_ADDR="192.0.2.33")
    assert response.status_code == 204
    [change] = rows(model="alerts.rule", action="update")
    assert change.changes == {"enabled": [True, False]}
    assert (change.username, change.address) == ("staff", "192.0.2.33")
    assert change.source == f"POST /api/rules/{rule.pk}/disable/"
