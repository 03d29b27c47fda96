from config.schedule import Job


def jobs():
    return [
        Job(
            name="Purge security events",
            task="security.purge_events",
            crontab="50 3 * * *",
            expires_seconds=3600,
            description="Removes security events older than RETENTION_SECURITY_EVENTS_DAYS.",
        ),
    ]
