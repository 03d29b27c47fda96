from config.schedule import Job

SIX_HOURS = 6 * 3600


def jobs() -> list[Job]:
    return [
        Job(
            name="Data quality: nightly scan",
            task="dataquality.nightly_scan",
            crontab="30 2 * * *",
            expires_seconds=SIX_HOURS,
            description="Checks statements changed since their last run, and entities "
            "whose latest statement has become overdue.",
        ),
        Job(
            name="Data quality: weekly full scan",
            task="dataquality.full_scan",
            crontab="30 3 * * 0",
            expires_seconds=SIX_HOURS,
            description="Checks every statement again (new thresholds, new history).",
        ),
        Job(
            name="Data quality: email reports",
            task="dataquality.send_reports",
            crontab="0 7 * * *",
            expires_seconds=SIX_HOURS,
            description="Sends the daily reports, and the weekly ones on Mondays.",
        ),
    ]
