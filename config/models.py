from django.db import models

from config import display_time


class Heartbeat(models.Model):
    """The last time a periodic task ran on a worker: proves beat, broker and worker work."""

    name = models.CharField(max_length=64, unique=True)
    last_seen = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self):
        return f"{self.name} at {display_time.text(self.last_seen, seconds=True)}"


class Overview(models.Model):
    """No table: carries the permission to see the overview dashboard."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_overview", "Can view the overview dashboard")]

    def __str__(self):
        return "Overview"
