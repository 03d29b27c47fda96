from celery import shared_task

from rum import ingest, rollups


@shared_task(name="rum.drain_events", ignore_result=True, bind=True)
def drain_events(self):
    """Insert the events queued in Redis; hand over to a fresh task if some are left."""
    # A worker lets short batches fill; run inline (eager), it must not hold the request.
    linger = 0.0 if self.request.is_eager else ingest.LINGER_SECONDS
    inserted = ingest.drain(linger=linger)
    if inserted and ingest.queued():
        drain_events.delay()
    return inserted


@shared_task(name="rum.rollup", ignore_result=True)
def rollup():
    """Fold the events inserted since the last run into the hourly rollups."""
    return rollups.roll_up()


@shared_task(name="rum.purge", ignore_result=True)
def purge():
    """Delete raw events past their site's retention."""
    return rollups.purge_expired()
