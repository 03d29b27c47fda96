import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.celery import app as celery_app
from config.demo import DEMO_TRAFFIC
from config.models import Heartbeat
from config.schedule import Job, all_jobs, seed
from config.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_every_scheduled_task_name_resolves_to_a_registered_task():
    celery_app.loader.import_default_modules()
    registered = set(celery_app.tasks)
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert scheduled, "migrate should have seeded the default periodic tasks"
    assert {job.task for job in all_jobs()} <= scheduled
    assert scheduled - registered == set()
    assert DEMO_TRAFFIC.task in registered  # seeded by demo loading only
    assert DEMO_TRAFFIC.name not in scheduled


def test_seeding_again_keeps_what_ops_edited():
    task = PeriodicTask.objects.get(name="Heartbeat")
    task.enabled = False
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=99, period="seconds")
    task.save()
    before = PeriodicTask.objects.count()

    assert seed() == []

    task.refresh_from_db()
    assert (task.enabled, task.interval.every) == (False, 99)
    assert PeriodicTask.objects.count() == before


def test_seeding_creates_a_missing_crontab_job():
    job = Job(name="Nightly thing", task="core.heartbeat", crontab="30 2 * * *")
    assert seed([job]) == ["Nightly thing"]
    created = PeriodicTask.objects.get(name="Nightly thing")
    assert (created.crontab.minute, created.crontab.hour) == ("30", "2")


def test_a_job_needs_exactly_one_schedule():
    with pytest.raises(ValueError, match="exactly one"):
        Job(name="x", task="core.heartbeat")


def test_the_heartbeat_task_records_its_run():
    heartbeat.delay()
    beat = Heartbeat.objects.get(name="beat")
    assert beat.hostname
