from celery import shared_task

from security import retention


@shared_task(name="security.purge_events", ignore_result=True)
def purge_events():
    retention.purge()
