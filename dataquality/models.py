"""Financial statements, their line items, and the quality runs kept for each statement."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from config import display_time


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Score penalty per finding; a run's score is 100 minus the sum, floored at 0.
PENALTIES = {"low": 5, "medium": 15, "high": 30, "critical": 50}
SEVERITY_ORDER = ["critical", "high", "medium", "low"]


class DataQuality(models.Model):
    """No table: carries the permission to see the data-quality dashboards."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the data quality dashboards")]

    def __str__(self):
        return "Data quality"


class Entity(models.Model):
    """A reporting company."""

    name = models.CharField(max_length=200, unique=True)
    expected_cadence_days = models.PositiveIntegerField(
        default=92,
        help_text="Days between two statements of the same type (92 quarterly, 366 yearly). "
        "The freshness check flags an entity whose latest statement is older than this "
        "plus the check's grace period.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Statement(models.Model):
    class Type(models.TextChoices):
        BALANCE_SHEET = "balance_sheet", "Balance sheet"
        INCOME_STATEMENT = "income_statement", "Income statement"
        CASH_FLOW = "cash_flow", "Cash flow"

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="statements")
    period_end = models.DateField()
    statement_type = models.CharField(max_length=20, choices=Type.choices)
    currency = models.CharField(max_length=3, default="USD")
    source = models.CharField(max_length=255, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    # When its line items last changed: the nightly scan re-checks statements
    # changed since their latest run.
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    latest_run = models.ForeignKey(
        "Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["entity__name", "-period_end", "statement_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "statement_type", "period_end"], name="dq_statement_unique"
            )
        ]
        indexes = [models.Index(fields=["period_end"], name="dq_statement_period")]

    def __str__(self):
        return self.label(self.entity, self.get_statement_type_display(), self.period_end)

    @staticmethod
    def label(entity, type_label, period_end) -> str:
        """How a statement is named everywhere (also for rows read without the model)."""
        return f"{entity} {type_label.lower()} {period_end}"


class LineItem(models.Model):
    class Category(models.TextChoices):
        ASSETS = "assets", "Assets"
        LIABILITIES = "liabilities", "Liabilities"
        EQUITY = "equity", "Equity"
        REVENUE = "revenue", "Revenue"
        EXPENSES = "expenses", "Expenses"
        INCOME = "income", "Income"
        CASH_FLOW = "cash_flow", "Cash flow"
        OTHER = "other", "Other"

    # Indexed by dq_item_statement_metric (statement first): a second index would only
    # slow the import down. Like `parent`, kept by the application (the ORM's CASCADE;
    # the importer writes the statements first, in the same transaction): a database
    # constraint checks every inserted line, about as long as inserting it.
    statement = models.ForeignKey(
        Statement,
        on_delete=models.CASCADE,
        related_name="line_items",
        db_index=False,
        db_constraint=False,
    )
    metric = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    period = models.DateField()
    value = models.DecimalField(max_digits=24, decimal_places=4, null=True, blank=True)
    is_total = models.BooleanField(default=False)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="components",
        help_text="The total line this line is a component of.",
        # Kept by the application (the ORM's SET_NULL, the importer): a database constraint
        # costs a lookup for every line inserted and every line deleted, which was a third
        # of the time of importing a large file.
        db_constraint=False,
    )
    # Line of the imported file, so a finding can be traced back to the source.
    source_row = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["statement", "id"]
        indexes = [models.Index(fields=["statement", "metric"], name="dq_item_statement_metric")]

    def __str__(self):
        return f"{self.metric} {self.period}: {self.value}"


class CheckConfig(models.Model):
    """The admin's settings for one check of the registry (see dataquality/checks)."""

    check_key = models.CharField("check", max_length=40, unique=True)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    params = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["check_key"]
        verbose_name = "check"

    def __str__(self):
        from dataquality.checks import get_check

        check = get_check(self.check_key)
        return check.title if check else self.check_key


class Scan(models.Model):
    """One scan over many statements; its progress is shown in the admin."""

    class Scope(models.TextChoices):
        ALL = "all", "All statements"
        CHANGED = "changed", "Changed since their last run"
        SELECTED = "selected", "Selected statements"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    statement_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Scan #{self.pk} ({self.get_scope_display().lower()})"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.DONE else 0
        return int(100 * self.done / self.total)


class ImportJob(models.Model):
    """A statements file uploaded in the admin, imported by a worker (never in the request).

    Progress (phase, rows done) is written as the worker goes; what the import found is
    kept for the page. The file's bytes are kept until the job has finished.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected (nothing imported)"
        FAILED = "failed", "Failed"

    filename = models.CharField(max_length=255)
    data = models.BinaryField(editable=False, default=bytes)
    validate_only = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=20, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    layout = models.CharField("read as", max_length=80, blank=True)
    rows = models.PositiveIntegerField(default=0)
    statements = models.PositiveIntegerField(default=0)
    line_items = models.PositiveIntegerField(default=0)
    replaced = models.PositiveIntegerField(default=0)
    new_entities = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField("problems", default=0)
    rejected_rows = models.PositiveIntegerField(default=0)
    # [line, column, message] of the first problems (all are counted in error_count).
    problems = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    scan = models.ForeignKey(
        Scan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    FINISHED = (Status.DONE, Status.REJECTED, Status.FAILED)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "import"

    def __str__(self):
        return f"Import #{self.pk} ({self.filename})"


class Run(models.Model):
    """A statement's result in one scan: its score and findings. Every run is kept."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="runs")
    scan = models.ForeignKey(
        Scan, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    created_at = models.DateTimeField(default=timezone.now)
    score = models.PositiveSmallIntegerField()
    issues = models.PositiveIntegerField(default=0)
    critical = models.PositiveIntegerField(default=0)
    line_items = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "statement"], name="dq_run_once_per_scan")
        ]
        indexes = [
            models.Index(fields=["statement", "-created_at"], name="dq_run_statement_time"),
            models.Index(fields=["created_at"], name="dq_run_time"),
        ]

    def __str__(self):
        return f"{self.statement}: {self.score} at {display_time.text(self.created_at)}"


class Finding(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="findings")
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="findings")
    check_key = models.CharField("check", max_length=40)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    description = models.TextField()
    affected_rows = models.PositiveIntegerField(default=0)
    # Up to 20 line-item ids, shown as links in the admin.
    sample_ids = models.JSONField(default=list, blank=True)
    recommendation = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["check_key", "severity"], name="dq_finding_check")]

    def __str__(self):
        return f"{self.check_key} ({self.severity}): {self.description[:60]}"


class ReportSubscription(models.Model):
    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly (Mondays)"

    name = models.CharField(max_length=200)
    recipients = models.TextField(help_text="Email addresses, separated by commas or new lines.")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    entities = models.ManyToManyField(
        Entity, blank=True, help_text="Leave empty to report on every entity."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReportDelivery(models.Model):
    """One report sent (or failed): at most one per subscription and period."""

    subscription = models.ForeignKey(
        ReportSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    period_key = models.CharField(max_length=40)
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.TextField()
    subject = models.CharField(max_length=255)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name_plural = "report deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_key"], name="dq_delivery_once_per_period"
            )
        ]

    def __str__(self):
        return f"{self.subscription} {self.period_key}"
