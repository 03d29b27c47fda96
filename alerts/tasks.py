"""Celery tasks: thin wrappers around plain functions that tests call directly.

The plain functions never queue a task themselves: the evaluation tick returns
the notifications it created and `dispatch` (here) queues their deliveries.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task

from alerts import deliveries, evaluate, retention

log = logging.getLogger(__name__)


@shared_task(name="alerts.evaluate", ignore_result=True)
def evaluate_rules():
    tick = evaluate.evaluate_rules()
    dispatch(tick.notifications)


def dispatch(notification_ids: list[int]) -> None:
    """One delivery task per notification (called after the commit that created them)."""
    for pk in notification_ids:
        try:
            deliver.delay(pk)
        except Exception:  # broker down: the next ticks send it again (overdue)
            log.exception("could not queue delivery of notification %s", pk)


@shared_task(name="alerts.deliver", bind=True, max_retries=None, ignore_result=True)
def deliver(self, notification_id: int):
    """Send one notification; retried with exponential backoff while failures are temporary.

    The number of tries is counted on the notification row, not by Celery, so
    a redelivered task message does not get extra tries.
    """
    while True:
        outcome = deliveries.attempt(notification_id)
        if outcome.retry_in is None:
            return
        if not self.request.is_eager:
            raise self.retry(countdown=outcome.retry_in)
        # Run inline (CELERY_TASK_ALWAYS_EAGER): wait out the backoff here.
        time.sleep(outcome.retry_in)


@shared_task(name="alerts.purge_history", ignore_result=True)
def purge_history():
    retention.purge()
