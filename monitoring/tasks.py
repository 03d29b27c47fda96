"""Celery tasks: thin wrappers around plain functions the tests call directly."""

from celery import shared_task

from monitoring import fold, retention, system


@shared_task(name="monitoring.fold", ignore_result=True)
def fold_minutes():
    return fold.fold()


@shared_task(name="monitoring.sample_system", ignore_result=True)
def sample_system():
    system.take_sample()


@shared_task(name="monitoring.retention", ignore_result=True)
def purge_old_data():
    return retention.purge()
