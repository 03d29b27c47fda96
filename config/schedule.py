"""Default periodic jobs, seeded into django-celery-beat.

Each app lists its jobs in `<app>/schedule.py` as a function `jobs()` returning
`Job`s. Seeding creates the missing ones and leaves existing rows alone, so
what ops edit in the admin (interval, enabled) survives every deploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from config.discovery import app_modules


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    every_seconds: int | None = None
    # "minute hour day_of_month month_of_year day_of_week", as in crontab(5).
    crontab: str | None = None
    # A run not started within this many seconds is dropped, so a backlog
    # (worker down for an hour) does not replay every missed run at once.
    expires_seconds: int | None = None
    kwargs: dict = field(default_factory=dict)
    description: str = ""
    enabled: bool = True

    def __post_init__(self):
        if (self.every_seconds is None) == (self.crontab is None):
            raise ValueError(f"job {self.name}: give exactly one of every_seconds and crontab")


def jobs() -> list[Job]:
    return [
        Job(
            name="Heartbeat",
            task="core.heartbeat",
            every_seconds=settings.HEARTBEAT_INTERVAL_SECONDS,
            expires_seconds=settings.HEARTBEAT_INTERVAL_SECONDS,
            description="Proves beat, the broker and a worker are alive (see /healthz).",
        )
    ]


def all_jobs() -> list[Job]:
    return [job for _, module in app_modules("schedule") for job in module.jobs()]


def seed(job_list: list[Job] | None = None) -> list[str]:
    """Create the periodic tasks that do not exist yet; return the names created."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = []
    with transaction.atomic():
        for job in job_list if job_list is not None else all_jobs():
            if PeriodicTask.objects.filter(name=job.name).exists():
                continue
            schedule = {}
            if job.every_seconds is not None:
                schedule["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=job.every_seconds, period=IntervalSchedule.SECONDS
                )
            else:
                minute, hour, dom, month, dow = job.crontab.split()
                schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    minute=minute,
                    hour=hour,
                    day_of_month=dom,
                    month_of_year=month,
                    day_of_week=dow,
                    timezone="UTC",
                )
            PeriodicTask.objects.create(
                name=job.name,
                task=job.task,
                kwargs=json.dumps(job.kwargs),
                expire_seconds=job.expires_seconds,
                description=job.description,
                enabled=job.enabled,
                **schedule,
            )
            created.append(job.name)
    return created


def seed_after_migrate(using="default", **kwargs):
    # Runs after every `migrate`, so production gets the defaults with no extra step.
    from django.db import connections

    if "django_celery_beat_periodictask" in connections[using].introspection.table_names():
        seed()
