"""Demo data: a few changes by the demo user, as if made in the admin an hour ago.

Loading the other apps' demo data is recorded as well ("command load_demo_data").
"""

from __future__ import annotations

from datetime import timedelta

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
        made = _rule_changes() + _channel_changes() + _check_changes()
        audit.record("export", "alerts-rules", rows=9)
        # Shown as an hour ago, so the default range of the page (24 h) has them.
        AuditEntry.objects.filter(source=SOURCE, at__gte=started).update(
            at=started - timedelta(hours=1)
        )
    stdout.write(f"  audit: {made + 1} demo changes by {DEMO_USERNAME}")


def _rule_changes() -> int:
    from alerts.models import Rule

    rule = Rule.objects.filter(enabled=True).order_by("pk").first()
    if rule is None:
        return 0
    # Raised and disabled, then put back: the demo's alerts still fire as designed.
    threshold = rule.threshold
    rule.threshold, rule.enabled = threshold * 1.5, False
    rule.save()
    rule.threshold, rule.enabled = threshold, True
    rule.save()
    return 2


def _channel_changes() -> int:
    from alerts.models import Channel

    channel = Channel.objects.filter(kind="webhook").order_by("pk").first()
    if channel is None:
        return 0
    channel.secret = ""  # a new one is generated on save: recorded as "changed"
    channel.save()
    return 1


def _check_changes() -> int:
    from dataquality.models import CheckConfig

    check = CheckConfig.objects.filter(check_key="missing_data").first()
    if check is None:
        return 0
    params = dict(check.params)
    check.params = {**params, "high_percent": 8.0}
    check.save()
    check.params = params
    check.save()
    return 2
