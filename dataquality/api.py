"""Staff JSON API: statements' quality reports, and triggering a check."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import MAX_INT, ErrorSerializer, JsonSerializer, Query, staff_with
from dataquality.checks import get_check
from dataquality.dashboards import PERMISSION
from dataquality.models import Finding, Run, Scan, Statement
from dataquality.tasks import start_scan

MAX_PAGE = 500
MAX_IDS = 10_000
# Reading answers whoever may see the dashboard; starting a scan needs what the
# admin's Start button needs.
CAN_READ = staff_with(PERMISSION)
CAN_SCAN = staff_with(PERMISSION, "dataquality.add_scan")


class ReportsQuery(Query):
    entity = serializers.IntegerField(required=False, min_value=1)
    type = serializers.ChoiceField(choices=Statement.Type.choices, required=False)
    min_score = serializers.IntegerField(required=False, min_value=0, max_value=100)
    max_score = serializers.IntegerField(required=False, min_value=0, max_value=100)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, default=100)
    # Bounded, so a 20-digit offset is a field error rather than a database overflow.
    offset = serializers.IntegerField(required=False, min_value=0, max_value=10**9, default=0)


class FindingSerializer(serializers.ModelSerializer):
    check = serializers.CharField(source="check_key")
    check_title = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "check",
            "check_title",
            "severity",
            "description",
            "affected_rows",
            "sample_ids",
            "recommendation",
        ]

    def get_check_title(self, obj) -> str:
        check = get_check(obj.check_key)
        return check.title if check else obj.check_key


class RunSerializer(serializers.ModelSerializer):
    checked_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Run
        fields = ["id", "checked_at", "score", "issues", "critical", "line_items", "scan"]


class StatementSerializer(serializers.ModelSerializer):
    entity = serializers.CharField(source="entity.name")
    score = serializers.IntegerField(source="latest_run.score", allow_null=True, default=None)
    issues = serializers.IntegerField(source="latest_run.issues", allow_null=True, default=None)
    critical = serializers.IntegerField(source="latest_run.critical", allow_null=True, default=None)
    last_checked = serializers.DateTimeField(
        source="latest_run.created_at", allow_null=True, default=None
    )

    class Meta:
        model = Statement
        fields = [
            "id",
            "entity",
            "statement_type",
            "period_end",
            "currency",
            "source",
            "updated_at",
            "score",
            "issues",
            "critical",
            "last_checked",
        ]


class ReportListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = StatementSerializer(many=True)


class StatementReportSerializer(serializers.Serializer):
    statement = StatementSerializer()
    findings = FindingSerializer(many=True)
    history = RunSerializer(many=True)


class TriggerSerializer(JsonSerializer):
    statement_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_INT),
        required=False,
        max_length=MAX_IDS,
        allow_empty=False,
    )
    scope = serializers.ChoiceField(
        choices=[Scan.Scope.ALL, Scan.Scope.CHANGED],
        required=False,
        help_text="Instead of statement_ids: every statement, or those changed since "
        "their last run.",
    )

    def validate(self, attrs):
        if ("statement_ids" in attrs) == ("scope" in attrs):
            raise serializers.ValidationError("give either statement_ids or scope")
        return attrs


class ScanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scan
        fields = [
            "id",
            "scope",
            "status",
            "total",
            "done",
            "findings",
            "created_at",
            "started_at",
            "finished_at",
            "error",
        ]


class ReportListView(APIView):
    permission_classes = [CAN_READ]

    @extend_schema(
        parameters=[ReportsQuery],
        responses=ReportListSerializer,
        summary="Latest quality report of each statement, lowest score first",
    )
    def get(self, request):
        params = ReportsQuery.read(request).validated_data
        statements = Statement.objects.select_related("entity", "latest_run")
        if "entity" in params:
            statements = statements.filter(entity_id=params["entity"])
        if "type" in params:
            statements = statements.filter(statement_type=params["type"])
        if "min_score" in params:
            statements = statements.filter(latest_run__score__gte=params["min_score"])
        if "max_score" in params:
            statements = statements.filter(latest_run__score__lte=params["max_score"])
        statements = statements.order_by("latest_run__score", "id")
        page = statements[params["offset"] : params["offset"] + params["limit"]]
        return Response(
            {"count": statements.count(), "results": StatementSerializer(page, many=True).data}
        )


class StatementReportView(APIView):
    permission_classes = [CAN_READ]

    @extend_schema(
        responses=StatementReportSerializer,
        summary="A statement's latest findings and its score history",
    )
    def get(self, request, statement_id: int):
        statement = get_object_or_404(
            Statement.objects.select_related("entity", "latest_run"), pk=statement_id
        )
        run = statement.latest_run
        findings = run.findings.all() if run else Finding.objects.none()
        return Response(
            {
                "statement": StatementSerializer(statement).data,
                "findings": FindingSerializer(findings, many=True).data,
                "history": RunSerializer(
                    statement.runs.order_by("created_at", "id"), many=True
                ).data,
            }
        )


class TriggerCheckView(APIView):
    permission_classes = [CAN_SCAN]

    @extend_schema(
        request=TriggerSerializer,
        responses={
            202: ScanSerializer,
            404: OpenApiResponse(ErrorSerializer, "A statement id that does not exist."),
        },
        summary="Check statements now (answers at once; poll the scan)",
    )
    def post(self, request):
        body = TriggerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data.get("statement_ids")
        if ids is not None:
            known = set(Statement.objects.filter(id__in=ids).values_list("id", flat=True))
            unknown = sorted(set(ids) - known)
            if unknown:
                return Response(
                    {"detail": f"no statement with id {', '.join(map(str, unknown[:20]))}"},
                    status=status.HTTP_404_NOT_FOUND,
                )
            scan = start_scan(Scan.Scope.SELECTED, sorted(known), request.user.get_username())
        else:
            scan = start_scan(
                body.validated_data["scope"], requested_by=request.user.get_username()
            )
        scan.refresh_from_db()
        return Response(ScanSerializer(scan).data, status=status.HTTP_202_ACCEPTED)


class ScanView(APIView):
    permission_classes = [CAN_READ]

    @extend_schema(responses=ScanSerializer, summary="A scan's progress")
    def get(self, request, scan_id: int):
        return Response(ScanSerializer(get_object_or_404(Scan, pk=scan_id)).data)
