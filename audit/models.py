from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One change to configuration, or one sensitive act (export, import, EXPLAIN...).

    Written in the transaction of the change it describes. Never edited: the
    admin refuses to add, change or delete rows; only retention removes them.
    """

    # Two indexes only (time, and object): each one is paid on every audited save.
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # The user's id and name as they were: the row outlives the account.
    user_id = models.IntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    address = models.CharField("client address", max_length=45, blank=True)
    source = models.CharField(
        max_length=300, blank=True, help_text="The request, command or task that acted."
    )
    action = models.CharField(max_length=40)
    model = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField("object", max_length=300, blank=True)
    # {field: [before, after]}, or {field: "changed"} for a secret.
    changes = models.JSONField(default=dict, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["model", "object_id"])]

    def __str__(self):
        return f"{self.action} {self.object_repr or self.model}"
