"""Celery tasks: thin wrappers around plain functions that tests call directly."""

from __future__ import annotations

import time

from celery import shared_task

from alerts import deliveries, evaluate, retention


@shared_task(name="alerts.evaluate", ignore_result=True)
def evaluate_rules():
    evaluate.evaluate_rules()


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
