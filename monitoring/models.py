from django.db import models

from config import display_time
from monitoring import series

MINUTE, HOUR, DAY = 60, 3600, 86400
RESOLUTIONS = [(MINUTE, "minute"), (HOUR, "hour"), (DAY, "day")]
KINDS = [("request", "request"), ("timer", "timer"), ("task", "task"), ("query", "query")]
# The name, method and status class of the all-routes total row kept per period.
ALL = "*"


def _figure_column(figure: series.Figure) -> models.Field:
    if figure.kind == series.HISTOGRAM:
        # (bucket index, count) pairs, see histogram.encode.
        return models.BinaryField(default=b"")
    if figure.ms:
        return models.FloatField(default=0)
    return models.BigIntegerField(default=0)


class SeriesFigures(models.Model):
    """A column per figure of monitoring.series.FIGURES: the sums of a series."""

    class Meta:
        abstract = True


for _figure in series.FIGURES:
    SeriesFigures.add_to_class(_figure.name, _figure_column(_figure))


class Rollup(SeriesFigures):
    """Sums of one series over one minute, hour or day.

    A series is (kind, name, method, status class): a route template, a custom
    timer, a Celery task or a normalised SQL fingerprint. The fold writes the
    minute, its hour and its day in one transaction, so any window is read from
    a handful of rows per series. Percentiles come from summing `buckets`
    (see lib.sketch).
    """

    resolution = models.PositiveIntegerField(choices=RESOLUTIONS)
    time = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=KINDS)
    name = models.CharField(max_length=255)
    method = models.CharField(max_length=10, blank=True)
    status_class = models.CharField(max_length=3, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "resolution", "time", "name", "method", "status_class"],
                name="monitoring_rollup_series_period",
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "name", "resolution", "time"], name="monitoring_rollup_name"
            )
        ]

    def __str__(self):
        label = f"{self.kind} {self.method} {self.name} {self.status_class}"
        return f"{label} at {display_time.text(self.time)}"


class LiveAggregate(SeriesFigures):
    """A process's sums for a still-open minute, on the embedded default (no Redis).

    Appended by each process's flush; the fold merges and deletes them in one
    transaction. With Redis, the same sums live in Redis hashes instead.
    """

    minute = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=8, choices=KINDS)
    name = models.CharField(max_length=255)
    method = models.CharField(max_length=10, blank=True)
    status_class = models.CharField(max_length=3, blank=True)

    def __str__(self):
        return f"{self.kind} {self.name} at {display_time.text(self.minute)}"


class FoldBatch(models.Model):
    """A batch of Redis sums already folded into rollups: never applied twice."""

    batch_id = models.CharField(max_length=32, unique=True)
    applied_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return self.batch_id


class QueryFingerprint(models.Model):
    """A normalised SQL statement (literals and parameters replaced by ?)."""

    fingerprint = models.CharField(max_length=16, unique=True)
    statement = models.TextField()
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    def __str__(self):
        return self.statement[:80]


class RequestSample(models.Model):
    """One slow (or N+1) request, with the normalised SQL it ran."""

    sample_id = models.CharField(max_length=32, unique=True)
    time = models.DateTimeField(db_index=True)
    route = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.FloatField()
    db_ms = models.FloatField()
    query_count = models.PositiveIntegerField()
    slow = models.BooleanField(default=False)
    n_plus_one = models.BooleanField(default=False)
    host = models.CharField(max_length=255, blank=True)
    # [{"fingerprint", "sql", "ms"}] in the order run (at most a thousand).
    queries = models.JSONField(default=list)
    # [{"fingerprint", "sql", "count"}]: statements repeated in this request (N+1).
    repeated = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["route", "time"], name="monitoring_sample_route")]

    def __str__(self):
        return f"{self.method} {self.route} {self.duration_ms:.0f} ms"


class MetricTotal(models.Model):
    """Counters since the start, per host and series, for /metrics (embedded default).

    Prometheus wants counters that only go up; rollups are purged, these never
    are. With Redis the same counters live in a Redis hash per host.
    """

    host = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=KINDS)
    name = models.CharField(max_length=255)
    method = models.CharField(max_length=10, blank=True)
    status_class = models.CharField(max_length=3, blank=True)
    # {code: n}: the /metrics counters of monitoring.series by their codes (c count, s sum
    # µs...) and l0..lN, Prometheus latency buckets (see monitoring.storage.total_increments).
    values = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host", "kind", "name", "method", "status_class"],
                name="monitoring_total_series",
            )
        ]

    def __str__(self):
        return f"{self.host} {self.kind} {self.name}"


class SystemSample(models.Model):
    """One host's resources at one moment (every 15 s by default)."""

    host = models.CharField(max_length=255)
    time = models.DateTimeField()
    cpu_percent = models.FloatField(null=True)
    load_1 = models.FloatField(null=True)
    load_5 = models.FloatField(null=True)
    load_15 = models.FloatField(null=True)
    memory_percent = models.FloatField(null=True)
    swap_percent = models.FloatField(null=True)
    # {"/": 41.2, "/var": 77.0}: percent used per mounted filesystem.
    disks = models.JSONField(default=dict)
    # The fullest of them, for charts over long ranges.
    disk_percent = models.FloatField(null=True)
    net_in_bps = models.FloatField(null=True)
    net_out_bps = models.FloatField(null=True)
    process_rss = models.BigIntegerField(null=True)
    process_open_files = models.IntegerField(null=True)
    db_connections = models.IntegerField(null=True)
    # Raw counters, for the rates of the next sample.
    cpu_busy_s = models.FloatField(null=True)
    cpu_total_s = models.FloatField(null=True)
    net_bytes_recv = models.BigIntegerField(null=True)
    net_bytes_sent = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["host", "time"], name="monitoring_system_host"),
            models.Index(fields=["time"], name="monitoring_system_time"),
        ]

    def __str__(self):
        return f"{self.host} at {display_time.text(self.time, seconds=True)}"


class Dashboard(models.Model):
    """No table: carries the permission to see the Performance and System dashboards."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the performance and system dashboards")]

    def __str__(self):
        return "Performance dashboards"
