"""Retries with backoff for real: a Celery worker process, the broker, and a flaky receiver."""

import time

from tests.alerts.receivers import HttpReceiver
from tests.support import (
    background,
    celery_worker_command,
    run_manage,
    run_python,
    subprocess_env,
    wait_until,
)

PLAN = """
from django.utils import timezone
from alerts import notify
from alerts.tasks import dispatch
from alerts.models import Alert, Channel, Rule
channel = Channel.objects.create(name="Flaky", kind="webhook", target={url!r})
rule = Rule.objects.create(name="Flaky test", source="alerts.delivery_failures",
    aggregation="count", threshold=0, enabled=True)
rule.channels.add(channel)
now = timezone.now()
alert = Alert.objects.create(rule=rule, state="firing", started_at=now, fired_at=now,
    evaluated_at=now, value=3)
plans = notify.plan_for(alert, rule, now, just_resolved=False)
dispatch(notify.save_notifications(notify.build_notifications(plans, now)))
"""

REPORT = """
from alerts.models import DeliveryAttempt, Notification
n = Notification.objects.get()
print(n.status, n.attempts, DeliveryAttempt.objects.filter(ok=False).count())
"""


def test_a_worker_retries_with_exponential_backoff_and_delivers_once(tmp_path):
    receiver = HttpReceiver().fail(2, status=503).start()
    env = subprocess_env(
        DATABASE_URL=None,
        REDIS_URL=None,
        VAR_DIR=str(tmp_path),
        CELERY_TASK_ALWAYS_EAGER="false",
        ALERTS_DELIVERY_BACKOFF_SECONDS="1",
        ALERTS_ALLOWED_NETWORKS="127.0.0.1/32",  # the receiver is on this host
    )
    try:
        migrated = run_manage("migrate", "--noinput", env=env)
        assert migrated.returncode == 0, migrated.stderr
        planned = run_python(PLAN.format(url=receiver.url), env)
        assert planned.returncode == 0, planned.stderr
        log = tmp_path / "worker.log"
        with background(celery_worker_command(concurrency=1), env, log):
            wait_until(lambda: receiver.delivered, timeout=90, message=log.read_text())
            time.sleep(1)  # a duplicate would arrive now
        assert len(receiver.requests) == 3 and len(receiver.delivered) == 1
        first, second, third = (r.at for r in receiver.requests)
        first_gap, second_gap = second - first, third - second
        assert first_gap >= 0.9, f"retried after {first_gap:.2f}s, wanted the 1 s backoff"
        assert second_gap >= 1.9, f"retried after {second_gap:.2f}s, wanted the doubled backoff"
        assert run_python(REPORT, env).stdout.split() == ["sent", "3", "2"]
    finally:
        receiver.stop()
