import csv
import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST, require_safe

from config import audit
from config.tables import csv_safe
from dataquality.admin_forms import CheckConfigForm, ImportForm, SubscriptionForm
from dataquality.check_config import ensure_configs
from dataquality.checks import get_check
from dataquality.importer import MAX_ERRORS_SHOWN as MAX_PROBLEMS_SHOWN
from dataquality.models import (
    CheckConfig,
    Entity,
    Finding,
    ImportJob,
    LineItem,
    ReportDelivery,
    ReportSubscription,
    Run,
    Scan,
    Statement,
)
from dataquality.queries import statement_url
from dataquality.tasks import start_import, start_scan


def score_badge(score):
    if score is None:
        return "–"
    css = "good" if score >= 90 else "warning" if score >= 70 else "critical"
    return format_html('<span class="{}">{}</span>', css, score)


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ["name", "expected_cadence_days", "statement_count", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(statement_count=Count("statements"))

    @admin.display(description="statements", ordering="statement_count")
    def statement_count(self, obj):
        return obj.statement_count


class LineItemInline(admin.TabularInline):
    model = LineItem
    fk_name = "statement"
    fields = ["metric", "category", "period", "value", "is_total", "parent", "source_row"]
    raw_id_fields = ["parent"]
    extra = 0
    show_change_link = True


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "entity",
        "statement_type",
        "period_end",
        "currency",
        "score",
        "issues",
        "last_checked",
        "report_link",
    ]
    list_filter = ["statement_type", "period_end", "entity"]
    search_fields = ["entity__name", "source"]
    list_select_related = ["entity", "latest_run"]
    raw_id_fields = ["entity"]
    readonly_fields = ["imported_at", "updated_at", "latest_run"]
    date_hierarchy = "period_end"
    inlines = [LineItemInline]
    actions = ["recheck"]
    change_list_template = "dataquality/admin/statement_change_list.html"

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="dataquality_statement_import",
            ),
            path(
                "<int:statement_id>/recheck/",
                self.admin_site.admin_view(self.recheck_view),
                name="dataquality_statement_recheck",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="score", ordering="latest_run__score")
    def score(self, obj):
        return score_badge(obj.latest_run.score if obj.latest_run else None)

    @admin.display(description="issues", ordering="latest_run__issues")
    def issues(self, obj):
        return obj.latest_run.issues if obj.latest_run else "–"

    @admin.display(description="last checked", ordering="latest_run__created_at")
    def last_checked(self, obj):
        return obj.latest_run.created_at if obj.latest_run else "never"

    @admin.display(description="report")
    def report_link(self, obj):
        return format_html('<a href="{}">details</a>', statement_url(obj.pk))

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.has_changed():  # edited line items: the nightly scan re-checks it
            from django.utils import timezone

            Statement.objects.filter(pk=form.instance.pk).update(updated_at=timezone.now())

    @admin.action(description="Re-check selected statements", permissions=["change"])
    def recheck(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        scan = start_scan(Scan.Scope.SELECTED, ids, request.user.get_username())
        link = reverse("admin:dataquality_scan_change", args=[scan.pk])
        self.message_user(
            request,
            format_html('Checking {} statement(s): <a href="{}">{}</a>.', len(ids), link, scan),
            messages.SUCCESS,
        )

    def recheck_view(self, request, statement_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        statement = get_object_or_404(Statement, pk=statement_id)
        if request.method == "POST":
            if not self.has_change_permission(request, statement):
                raise PermissionDenied
            scan = start_scan(Scan.Scope.SELECTED, [statement.pk], request.user.get_username())
            self.message_user(request, f"Re-check of {statement} started ({scan}).")
            return HttpResponseRedirect(statement_url(statement.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Re-check {statement}?",
            "statement": statement,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "dataquality/admin/statement_recheck.html", context)

    def import_view(self, request):
        """Store the upload and queue its import: a worker does the work (see jobs.py)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = start_import(
                upload.read(),
                upload.name,
                validate_only=form.cleaned_data["validate_only"],
                requested_by=request.user.get_username(),
            )
            self.message_user(request, f"{job} queued; this page follows its progress.")
            link = reverse("admin:dataquality_importjob_change", args=[job.pk])
            return HttpResponseRedirect(link)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import statements",
            "form": form,
            "jobs": ImportJob.objects.defer("data", "problems")[:10],
            "opts": self.model._meta,
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(
            request, "dataquality/admin/statement_import.html", context, status=status
        )


@admin.register(LineItem)
class LineItemAdmin(admin.ModelAdmin):
    list_display = ["metric", "statement", "category", "period", "value", "is_total", "parent"]
    list_filter = ["category", "is_total", "statement__statement_type"]
    search_fields = ["metric", "statement__entity__name"]
    raw_id_fields = ["statement", "parent"]
    list_select_related = ["statement__entity", "parent"]
    show_full_result_count = False
    ordering = ["-id"]  # the primary key's index: no sort of a million rows

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        from django.utils import timezone

        Statement.objects.filter(pk=obj.statement_id).update(updated_at=timezone.now())


@admin.register(CheckConfig)
class CheckConfigAdmin(admin.ModelAdmin):
    form = CheckConfigForm
    list_display = ["title", "enabled", "severity", "thresholds", "updated_at"]
    list_editable = ["enabled", "severity"]
    list_display_links = ["title"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if self.has_change_permission(request, obj):
            kwargs["fields"] = None  # the form's own fields: the thresholds are no model fields
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        check = get_check(obj.check_key)
        if self.has_change_permission(request, obj):
            names = ["enabled", "severity", *(p.name for p in check.params)]
        else:  # read-only: the thresholds are no model field, show them as the list does
            names = ["enabled", "severity", "thresholds"]
        return [(None, {"fields": names, "description": check.description})]

    def changelist_view(self, request, extra_context=None):
        if self.has_view_or_change_permission(request):  # nobody else writes the rows
            ensure_configs()
        return super().changelist_view(request, extra_context)

    def get_changelist_form(self, request, **kwargs):
        # The list edits only enabled and severity; thresholds are on each check's page.
        return forms.modelform_factory(CheckConfig, fields=["enabled", "severity"])

    def has_add_permission(self, request):
        return False  # the checks are the registry's; each has exactly one row

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="check")
    def title(self, obj):
        return str(obj)

    @admin.display(description="thresholds")
    def thresholds(self, obj):
        check = get_check(obj.check_key)
        params = {**check.defaults(), **(obj.params or {})}
        return (
            "; ".join(
                f"{p.label}: {', '.join(params[p.name]) if p.kind == 'list' else params[p.name]}"
                for p in check.params
            )
            or "–"
        )


def progress_html(job):
    """A scan's or an import's progress bar (both count `done` of `total`)."""
    # A finished job with nothing to do shows a full bar, not an empty one.
    finished = job.status in ("done", "rejected")
    total = job.total or (1 if finished else 0)
    done = job.done or (1 if finished and not job.total else 0)
    return format_html(
        '<progress max="{}" value="{}"></progress> {} of {}',
        max(total, 1),
        done,
        job.done,
        job.total,
    )


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "progress",
        "findings",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "scope"]
    readonly_fields = [
        "scope",
        "status",
        "progress",
        "findings",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "error",
    ]
    exclude = ["statement_ids", "total", "done"]
    change_form_template = "dataquality/admin/scan_change_form.html"
    change_list_template = "dataquality/admin/scan_change_list.html"

    def get_urls(self):
        return [
            path(
                "start/",
                self.admin_site.admin_view(require_POST(self.start_view)),
                name="dataquality_scan_start",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="progress")
    def progress(self, obj):
        return progress_html(obj)

    def has_add_permission(self, request):
        return False  # started with the button, the statements' action or the API

    def has_change_permission(self, request, obj=None):
        return False

    def start_view(self, request):
        if not request.user.has_perm("dataquality.add_scan"):
            raise PermissionDenied
        scope = request.POST.get("scope")
        if scope not in (Scan.Scope.ALL, Scan.Scope.CHANGED):
            scope = Scan.Scope.ALL
        scan = start_scan(scope, requested_by=request.user.get_username())
        self.message_user(request, f"{scan} started.")
        return HttpResponseRedirect(reverse("admin:dataquality_scan_change", args=[scan.pk]))


PHASES = {
    "reading": "reading the file",
    "validating": "checking every row",
    "storing": "storing the line items",
}


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "progress",
        "rows",
        "error_count",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status"]
    search_fields = ["filename"]
    fields = [
        "filename",
        "validate_only",
        "status",
        "progress",
        "summary",
        "layout",
        "problem_list",
        "warning_list",
        "scan_link",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "error",
    ]
    readonly_fields = fields
    # The same page as a scan's: it reloads itself while the job is queued or running.
    change_form_template = "dataquality/admin/scan_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data")

    def get_urls(self):
        return [
            path(
                "<int:job_id>/problems.csv",
                self.admin_site.admin_view(require_safe(self.problems_csv)),
                name="dataquality_importjob_problems",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="progress")
    def progress(self, obj):
        bar = progress_html(obj)
        if obj.status == ImportJob.Status.RUNNING and obj.phase:
            return format_html("{}: {}", PHASES.get(obj.phase, obj.phase), bar)
        return bar

    @admin.display(description="problems")
    def problem_list(self, obj):
        if not obj.error_count:
            return "–"
        shown = obj.problems[:MAX_PROBLEMS_SHOWN]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((line or "file", column or "–", message) for line, column, message in shown),
        )
        more = ""
        if obj.error_count > len(shown):
            link = reverse("admin:dataquality_importjob_problems", args=[obj.pk])
            kept = len(obj.problems)
            more = format_html(
                '<p>… and {} more: <a href="{}">download {} as CSV</a>.</p>',
                obj.error_count - len(shown),
                link,
                "all" if kept == obj.error_count else f"the first {kept:,}",
            )
        return format_html(
            '<table class="import-problems"><thead><tr><th>Line</th><th>Column</th>'
            "<th>Problem</th></tr></thead><tbody>{}</tbody></table>{}",
            rows,
            more,
        )

    @admin.display(description="warnings")
    def warning_list(self, obj):
        return format_html_join("", "<p>{}</p>", ((w,) for w in obj.warnings)) or "–"

    @admin.display(description="check")
    def scan_link(self, obj):
        if obj.scan_id is None:
            return "–"
        link = reverse("admin:dataquality_scan_change", args=[obj.scan_id])
        return format_html('<a href="{}">Scan #{}</a>', link, obj.scan_id)

    def problems_csv(self, request, job_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ImportJob.objects.defer("data"), pk=job_id)
        audit.record("export", "dataquality-import-problems", rows=len(job.problems))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["line", "column", "problem"])
        writer.writerows([csv_safe(v) for v in problem] for problem in job.problems)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
        return response

    def has_add_permission(self, request):
        return False  # started by uploading a file on the statements' import page

    def has_change_permission(self, request, obj=None):
        return False


class FindingInline(admin.TabularInline):
    model = Finding
    fields = ["check_key", "severity", "description", "affected_rows", "samples"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="sample rows")
    def samples(self, obj):
        return sample_links(obj)


def sample_links(finding):
    if not finding.sample_ids:
        return "–"
    return format_html_join(
        " ",
        '<a href="{}">#{}</a>',
        ((reverse("admin:dataquality_lineitem_change", args=[i]), i) for i in finding.sample_ids),
    )


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["statement", "score_badge", "issues", "critical", "created_at", "scan"]
    list_filter = ["created_at", "statement__statement_type"]
    search_fields = ["statement__entity__name"]
    list_select_related = ["statement__entity", "scan"]
    inlines = [FindingInline]
    readonly_fields = [
        "statement",
        "scan",
        "created_at",
        "score",
        "issues",
        "critical",
        "line_items",
    ]
    show_full_result_count = False

    @admin.display(description="score", ordering="score")
    def score_badge(self, obj):
        return score_badge(obj.score)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = [
        "statement",
        "check_key",
        "severity",
        "affected_rows",
        "description",
        "created_at",
    ]
    list_filter = ["check_key", "severity", "created_at"]
    search_fields = ["statement__entity__name", "description"]
    list_select_related = ["statement__entity"]
    readonly_fields = [
        "run",
        "statement",
        "check_key",
        "severity",
        "description",
        "affected_rows",
        "samples",
        "recommendation",
        "created_at",
    ]
    exclude = ["sample_ids"]
    show_full_result_count = False
    ordering = ["-id"]

    @admin.display(description="sample rows")
    def samples(self, obj):
        return sample_links(obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "recipients", "frequency", "active", "last_sent_at"]
    list_filter = ["frequency", "active"]
    filter_horizontal = ["entities"]
    actions = ["send_now"]

    @admin.action(description="Send the report now", permissions=["change"])
    def send_now(self, request, queryset):
        from dataquality.email_reports import send_report

        for subscription in queryset:
            delivery = send_report(subscription, force=True)
            if delivery.ok:
                self.message_user(request, f"Sent {subscription} to {delivery.recipients}.")
            else:
                self.message_user(
                    request, f"Could not send {subscription}: {delivery.error}", messages.ERROR
                )


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(admin.ModelAdmin):
    list_display = ["subscription", "period_key", "sent_at", "ok", "recipients", "error"]
    list_filter = ["ok", "subscription"]
    readonly_fields = [
        "subscription",
        "period_key",
        "sent_at",
        "recipients",
        "subject",
        "ok",
        "error",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
