from django.conf import settings

from config.schedule import Job


def jobs() -> list[Job]:
    every = settings.MONITORING_SYSTEM_SAMPLE_SECONDS
    return [
        Job(
            name="Fold request metrics",
            task="monitoring.fold",
            every_seconds=10,
            expires_seconds=10,
            description="Moves request, task and query metrics from Redis (or the live table) "
            "into rollups, the open minute as far as it goes.",
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
