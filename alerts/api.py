"""Staff JSON API: the alerting status, and the rules."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import sources, status
from alerts.dashboards import PERMISSION
from alerts.models import Alert, Rule
from alerts.models.alerts import OPEN_STATES
from config.api import staff_with


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.name")
    rule_id = serializers.IntegerField()
    severity = serializers.CharField(source="rule.severity")
    age_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "rule_id",
            "severity",
            "state",
            "labels",
            "value",
            "started_at",
            "fired_at",
            "age_seconds",
            "acknowledged_at",
            "acknowledged_by",
            "silenced",
            "no_data_since",
        ]

    def get_age_seconds(self, alert) -> int:
        since = alert.fired_at or alert.started_at
        return int((timezone.now() - since).total_seconds())


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["good", "warning", "critical"])
    firing = serializers.DictField(child=serializers.IntegerField(), help_text="Per severity.")
    alerts = AlertSerializer(many=True, help_text="Every firing or pending alert.")


class AlertStatusView(APIView):
    """Overall status, firing counts per severity, and every open alert."""

    permission_classes = [staff_with(PERMISSION)]

    @extend_schema(responses=StatusSerializer)
    def get(self, request):
        counts = status.firing_by_severity()
        open_alerts = Alert.objects.filter(state__in=OPEN_STATES).select_related("rule")
        answer = {"status": status.overall(counts), "firing": counts, "alerts": open_alerts}
        return Response(StatusSerializer(answer).data)


class RuleSerializer(serializers.ModelSerializer):
    source_available = serializers.SerializerMethodField()
    channels = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    escalation_channels = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    no_data_policy = serializers.ChoiceField(
        choices=["keep", "resolve", "alert"],
        read_only=True,
        help_text="What no data does: the rule's own choice (no_data), or its source's default.",
    )

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "enabled",
            "source",
            "source_available",
            "aggregation",
            "filters",
            "group_by",
            "window_minutes",
            "operator",
            "threshold",
            "resolve_threshold",
            "for_minutes",
            "no_data",
            "no_data_policy",
            "severity",
            "channels",
            "repeat_minutes",
            "escalate_after_minutes",
            "escalation_channels",
            "description",
            "runbook_url",
            "eval_status",
            "eval_status_since",
        ]

    def get_source_available(self, rule) -> bool:
        try:
            sources.get_source(rule.source)
        except sources.SourceError:
            return False
        return True


class RuleListView(ListAPIView):
    permission_classes = [staff_with(PERMISSION)]
    serializer_class = RuleSerializer
    pagination_class = None

    def get_queryset(self):
        return Rule.objects.prefetch_related("channels", "escalation_channels")
