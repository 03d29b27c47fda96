from django.conf import settings

from config.schedule import Job


def jobs() -> list[Job]:
    every = settings.MONITORING_SYSTEM_SAMPLE_SECONDS
    return [
        Job(
            name="Fold request metrics",
            task="monitoring.fold",
            every_seconds=30,
            expires_seconds=30,
            description="Moves closed minutes of request, task and query metrics into rollups.",
        ),
        Job(
            name="Sample system resources",
            task="monitoring.sample_system",
            every_seconds=every,
            expires_seconds=every,
            description="CPU, load, memory, swap, disks, network and process figures of a host.",
        ),
        Job(
            name="Monitoring retention",
            task="monitoring.retention",
            crontab="17 * * * *",
            expires_seconds=3600,
            description="Purges old samples and downsamples minute rollups (RETENTION_* settings).",
        ),
    ]
