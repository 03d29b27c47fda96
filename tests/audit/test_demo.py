import io

import pytest
from django.core.management import call_command

from audit.demo import SOURCE
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_demo_shows_changes_by_the_demo_user_on_the_audit_log(admin_client):
    call_command("load_demo_data", stdout=io.StringIO())
    demo = AuditEntry.objects.filter(source=SOURCE)
    assert {e.username for e in demo} == {"demo"}
    assert {e.model for e in demo} >= {"alerts.rule", "alerts.channel", "rum.site"}
    assert demo.filter(model="alerts.channel", changes={"secret": "changed"}).exists()
    assert AuditEntry.objects.filter(source="command load_demo_data").exists()

    page = admin_client.get("/admin/dashboards/audit/", {"user": "demo"})
    assert page.status_code == 200 and "enabled: true -&gt; false" in page.text
