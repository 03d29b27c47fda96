import socket

from celery import shared_task
from django.utils import timezone

from config.models import Heartbeat

BEAT = "beat"


def record_heartbeat(name: str = BEAT) -> Heartbeat:
    beat, _ = Heartbeat.objects.update_or_create(
        name=name,
        defaults={"last_seen": timezone.now(), "hostname": socket.gethostname()},
    )
    return beat


@shared_task(name="core.demo_tick", ignore_result=True)
def demo_tick():
    """The next minute of demo traffic (scheduled only where demo data was loaded)."""
    import io

    from config.demo import tick_all

    tick_all(io.StringIO())


@shared_task(name="core.heartbeat", ignore_result=True)
def heartbeat():
    record_heartbeat()
