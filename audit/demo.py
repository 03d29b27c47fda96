"""Demo data: a few changes by the demo user, as if made in the admin an hour ago.

Loading the other apps' demo data is recorded as well ("command load_demo_data").
"""

from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from config import audit
from config.demo import DEMO_USERNAME

SOURCE = "demo: changes in the admin"
ADDRESS = "192.0.2.10"  # a documentation address: no real client


def load(stdout) -> None:
    if AuditEntry.objects.filter(source=SOURCE).exists():
        stdout.write("  audit: demo changes already recorded")
        return
    user = get_user_model().objects.filter(username=DEMO_USERNAME).first()
    started = timezone.now()
    with transaction.atomic(), audit.acting(audit.Actor(SOURCE, ADDRESS, user=user)):
        made = _rule_changes() + _channel_changes() + _site_changes()
        audit.record("export", "alerts-rules", rows=9)
        # Shown as an hour ago, so the default range of the page (24 h) has them.
        AuditEntry.objects.filter(source=SOURCE, at__gte=started).update(
            at=started - timedelta(hours=1)
        )
    stdout.write(f"  audit: {made + 1} demo changes by {DEMO_USERNAME}")


def _model(label):
    # By label, as the trail lists them: apps do not import each other.
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _rule_changes() -> int:
    rules = _model("alerts.Rule")
    rule = rules and rules.objects.filter(enabled=True).order_by("pk").first()
    if not rule:
        return 0
    # Raised and disabled, then put back: the demo's alerts still fire as designed.
    threshold = rule.threshold
    rule.threshold, rule.enabled = threshold * 1.5, False
    rule.save()
    rule.threshold, rule.enabled = threshold, True
    rule.save()
    return 2


def _channel_changes() -> int:
    channels = _model("alerts.Channel")
    channel = channels and channels.objects.filter(kind="webhook").order_by("pk").first()
    if not channel:
        return 0
    channel.secret = ""  # a new one is generated on save: recorded as "changed"
    channel.save()
    return 1


def _site_changes() -> int:
    sites = _model("rum.Site")
    site = sites and sites.objects.order_by("pk").first()
    if not site:
        return 0
    rate = site.sample_rate
    site.sample_rate = 0.5 if rate != 0.5 else 0.25
    site.save()
    site.sample_rate = rate
    site.save()
    return 2
