from config.schedule import Job


def jobs():
    return [
        Job(
            name="Purge audit trail",
            task="audit.purge",
            crontab="50 3 * * *",
            expires_seconds=3600,
            description="Removes audit entries older than AUDIT_RETENTION_DAYS.",
        )
    ]
