from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import JsonResponse
from django.template.loader import render_to_string
from django.urls import path
from django.utils.html import format_html

from alerts import preview, sources
from alerts.evaluate import STATUS_OK, close_open_alerts
from alerts.forms import RuleForm
from alerts.models import AlertState, Rule
from alerts.models.alerts import labels_key
from config import display_time

# Changing these asks the source a different question: old alerts no longer apply.
QUESTION_FIELDS = {"source", "aggregation", "filters", "group_by"}


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    change_form_template = "admin/alerts/rule/change_form.html"
    list_display = [
        "name",
        "enabled",
        "severity",
        "source_column",
        "condition_column",
        "firing_column",
        "evaluation_column",
    ]
    list_filter = ["enabled", "severity", "source"]
    search_fields = ["name", "description", "source"]
    filter_horizontal = ["channels", "escalation_channels"]
    readonly_fields = ["eval_status", "eval_status_since"]
    actions = ["disable_rules"]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "severity", "description", "runbook_url"]}),
        (
            "Metric",
            {"fields": ["source", "aggregation", "filters", "group_by", "window_minutes"]},
        ),
        (
            "Condition",
            {"fields": ["operator", "threshold", "resolve_threshold", "for_minutes", "no_data"]},
        ),
        (
            "Notifications",
            {
                "fields": [
                    "channels",
                    "repeat_minutes",
                    "escalate_after_minutes",
                    "escalation_channels",
                    "message",
                ]
            },
        ),
        ("Last evaluation", {"fields": ["eval_status", "eval_status_since"]}),
    ]

    class Media:
        css = {"all": ["alerts/alerts.css"]}

    def get_queryset(self, request):
        firing = Count("alerts", filter=Q(alerts__state=AlertState.FIRING))
        return super().get_queryset(request).annotate(firing=firing)

    @admin.display(description="source", ordering="source")
    def source_column(self, rule):
        try:
            source = sources.get_source(rule.source)
        except sources.SourceError:
            return format_html(
                '{} <span class="alerts-unavailable">source unavailable</span>', rule.source
            )
        return source.label

    @admin.display(description="condition")
    def condition_column(self, rule):
        text = rule.condition_text
        if rule.group_by:
            text += f"; per {', '.join(rule.group_by)}"
        if rule.filters:
            text += f"; {', '.join(f'{k}={v}' for k, v in rule.filters.items())}"
        return text

    @admin.display(description="firing", ordering="firing")
    def firing_column(self, rule):
        return rule.firing or "–"

    @admin.display(description="evaluation", ordering="eval_status")
    def evaluation_column(self, rule):
        status = rule.eval_status or "not evaluated yet"
        if not rule.enabled:
            return "disabled"
        css = "" if status == STATUS_OK else "alerts-unavailable"
        return format_html('<span class="{}">{}</span>', css, status)

    @admin.action(description="Disable the selected rules", permissions=["change"])
    def disable_rules(self, request, queryset):
        # One save per rule: updated_at moves and the audit trail sees each change.
        rules = list(queryset.filter(enabled=True))
        for rule in rules:
            rule.enabled = False
            rule.save(update_fields=["enabled", "updated_at"])
        self.message_user(request, f"Disabled {len(rules)} rule(s).")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and set(form.changed_data) & QUESTION_FIELDS:
            closed = close_open_alerts(obj, "rule changed: its metric is asked differently")
            if closed:
                messages.info(
                    request,
                    f"Closed {closed} open alert(s) of the old definition without notifying; "
                    "the next evaluation starts afresh.",
                )
        if getattr(form, "source_unavailable", False):
            messages.warning(
                request,
                f"No metric source {obj.source!r} is installed: the rule is kept but skipped "
                "until the app providing it is.",
            )

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="alerts_rule_preview",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        context["metric_sources"] = sources.all_sources()
        return super().render_change_form(request, context, *args, **kwargs)

    def preview_view(self, request):
        """POST the rule form: the rule's backtest over the last 7 days, as HTML and a figure."""
        if request.method != "POST":
            return JsonResponse({"error": "POST the rule form"}, status=405)
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        instance = Rule.objects.filter(pk=request.POST.get("rule_id") or None).first()
        form = self.get_form(request, instance)(request.POST, instance=instance)
        if not form.is_valid():
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            html = render_to_string("admin/alerts/rule/_preview.html", {"errors": errors})
            return JsonResponse({"html": html, "figure": None, "errors": errors}, status=400)
        rule = form.save(commit=False)
        try:
            result = preview.backtest(rule)
        except sources.SourceError as exc:
            html = render_to_string("admin/alerts/rule/_preview.html", {"problem": str(exc)})
            return JsonResponse({"html": html, "figure": None})
        # pandas and Plotly load on first use, keeping start-up quick.
        from plotly.utils import PlotlyJSONEncoder

        from alerts import charts

        figure = charts.preview_figure(
            _points_frame(result),
            _transitions_frame(result),
            rule.threshold,
            rule.resolve_threshold,
            result.unit,
        )
        html = render_to_string(
            "admin/alerts/rule/_preview.html",
            {"result": result, "rows": preview.transition_rows(result), "rule": rule},
        )
        return JsonResponse(
            {"html": html, "figure": display_time.figure_json(figure)}, encoder=PlotlyJSONEncoder
        )


def _points_frame(result):
    import pandas as pd

    rows = [
        (at, labels_key(labels) or "value", value)
        for labels, points in result.points.items()
        for at, value in points
    ]
    return pd.DataFrame(rows, columns=["at", "series", "value"])


def _transitions_frame(result):
    import pandas as pd

    rows = []
    for labels, t in result.transitions:
        # A resolution on no data has no value: mark it at the last value seen.
        value = t.value if t.value is not None else _last_value(result.points.get(labels), t.at)
        rows.append((t.at, labels_key(labels) or "value", t.state, value))
    return pd.DataFrame(rows, columns=["at", "series", "state", "value"])


def _last_value(points, before):
    seen = [value for at, value in points or () if at < before and value is not None]
    return seen[-1] if seen else None
