from celery import shared_task

from rum import fold, ingest, partitions, retention


@shared_task(name="rum.drain_events", ignore_result=True, bind=True)
def drain_events(self):
    """Insert the events queued in Redis; hand over to a fresh task if some are left."""
    # A worker lets short batches fill; run inline (eager), it must not hold the request.
    linger = 0.0 if self.request.is_eager else ingest.LINGER_SECONDS
    inserted = ingest.drain(linger=linger)
    if inserted and ingest.backlog():
        drain_events.delay()
    return inserted


@shared_task(name="rum.rollup", ignore_result=True)
def rollup():
    """Fold the events inserted since the last run into the hourly rollups."""
    return fold.roll_up()


@shared_task(name="rum.purge", ignore_result=True)
def purge():
    """Delete raw events past their site's retention, and old rollups."""
    return retention.purge()


@shared_task(name="rum.partitions", ignore_result=True)
def create_partitions():
    """Create the coming days' partitions of raw events (PostgreSQL)."""
    return [day.isoformat() for day in partitions.ensure()]
