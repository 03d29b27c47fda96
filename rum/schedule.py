from config.schedule import Job


def jobs() -> list[Job]:
    return [
        Job(
            name="RUM: drain queued events",
            task="rum.drain_events",
            every_seconds=10,
            expires_seconds=10,
            description="Inserts RUM events waiting in Redis (requests also ask for a drain).",
        ),
        Job(
            name="RUM: hourly rollups",
            task="rum.rollup",
            every_seconds=60,
            expires_seconds=60,
            description="Adds the events inserted since the last run to the Web Vitals rollups.",
        ),
        Job(
            name="RUM: purge old events",
            task="rum.purge",
            every_seconds=3600,
            expires_seconds=3600,
            description="Deletes raw RUM events past each site's retention, and old rollups.",
        ),
        Job(
            name="RUM: event partitions",
            task="rum.partitions",
            every_seconds=3600,
            expires_seconds=3600,
            description="Creates the partitions of raw RUM events for the coming days "
            "(PostgreSQL), and moves events out of the default partition.",
        ),
    ]
