from django.conf import settings

from config.schedule import Job


def jobs():
    every = settings.ALERTS_EVALUATION_INTERVAL_SECONDS
    return [
        Job(
            name="Evaluate alert rules",
            task="alerts.evaluate",
            every_seconds=every,
            # A tick not started before the next one is due is dropped, not replayed.
            expires_seconds=max(every - 5, 5),
            description="Evaluates every enabled alert rule and sends the notifications due.",
        ),
        Job(
            name="Purge alert history",
            task="alerts.purge_history",
            crontab="40 3 * * *",
            expires_seconds=3600,
            description="Removes resolved alerts and delivery attempts past their retention.",
        ),
    ]
