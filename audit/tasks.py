"""Celery tasks: thin wrappers around plain functions that tests call directly."""

from celery import shared_task

from audit import retention


@shared_task(name="audit.purge", ignore_result=True)
def purge():
    retention.purge()
