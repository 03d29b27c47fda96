"""Read-only JSON API for staff: performance overview, endpoints, system health."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config import page_cache
from config.api import Query, staff_with
from monitoring import queries
from monitoring.dashboards import PERMISSION
from monitoring.formats import worst


class WindowQuery(Query):
    hours = serializers.IntegerField(
        min_value=1, max_value=168, default=24, help_text="The last N hours (1 to 168)."
    )

    def window(self):
        end = timezone.now()
        return end - timedelta(hours=self.validated_data["hours"]), end


class EndpointsQuery(WindowQuery):
    route = serializers.CharField(
        required=False, max_length=255, help_text="Only this route template."
    )
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)


class PointSerializer(serializers.Serializer):
    time = serializers.DateTimeField()
    requests = serializers.IntegerField()
    p50_ms = serializers.FloatField(allow_null=True)
    p95_ms = serializers.FloatField(allow_null=True)
    p99_ms = serializers.FloatField(allow_null=True)
    error_rate = serializers.FloatField(help_text="Percent of requests answered 5xx.")


class PerformanceOverviewSerializer(serializers.Serializer):
    hours = serializers.IntegerField()
    requests = serializers.IntegerField()
    throughput_per_minute = serializers.FloatField()
    avg_ms = serializers.FloatField(allow_null=True)
    p50_ms = serializers.FloatField(allow_null=True)
    p95_ms = serializers.FloatField(allow_null=True)
    p99_ms = serializers.FloatField(allow_null=True)
    max_ms = serializers.FloatField(allow_null=True)
    error_rate = serializers.FloatField(
        allow_null=True, help_text="Percent of requests answered 5xx (4xx: see the endpoints)."
    )
    db_avg_ms = serializers.FloatField(allow_null=True)
    db_p95_ms = serializers.FloatField(allow_null=True)
    series = PointSerializer(many=True)


class EndpointSerializer(serializers.Serializer):
    route = serializers.CharField()
    method = serializers.CharField()
    requests = serializers.IntegerField()
    throughput_per_minute = serializers.FloatField()
    avg_ms = serializers.FloatField(allow_null=True)
    p50_ms = serializers.FloatField(allow_null=True)
    p95_ms = serializers.FloatField(allow_null=True)
    p99_ms = serializers.FloatField(allow_null=True)
    max_ms = serializers.FloatField(allow_null=True)
    server_errors = serializers.IntegerField(
        source="errors", help_text="Requests answered 5xx (server errors)."
    )
    server_error_rate = serializers.FloatField(
        source="error_rate", allow_null=True, help_text="Percent of requests answered 5xx."
    )
    client_errors = serializers.IntegerField(help_text="Requests answered 4xx (client errors).")
    client_error_rate = serializers.FloatField(
        allow_null=True, help_text="Percent of requests answered 4xx."
    )
    error_rate = serializers.FloatField(
        allow_null=True,
        help_text="Same as server_error_rate (5xx only), kept for existing clients.",
    )
    db_share = serializers.FloatField(allow_null=True)
    n_plus_one = serializers.IntegerField(help_text="Requests flagged with an N+1 pattern.")


class HostSerializer(serializers.Serializer):
    host = serializers.CharField()
    time = serializers.DateTimeField()
    status = serializers.ChoiceField(["good", "warning", "critical", "nodata"])
    cpu_percent = serializers.FloatField(allow_null=True)
    memory_percent = serializers.FloatField(allow_null=True)
    swap_percent = serializers.FloatField(allow_null=True)
    disks = serializers.DictField(child=serializers.FloatField())
    load_1 = serializers.FloatField(allow_null=True)
    net_in_bps = serializers.FloatField(allow_null=True)
    net_out_bps = serializers.FloatField(allow_null=True)


class _ReadView(APIView):
    permission_classes = [staff_with(PERMISSION)]

    def query(self, serializer_class):
        return serializer_class.read(self.request)  # 400 with the field errors


class OverviewView(_ReadView):
    @extend_schema(
        parameters=[WindowQuery], responses=PerformanceOverviewSerializer, tags=["monitoring"]
    )
    def get(self, request):
        query = self.query(WindowQuery)
        # Shared for a few seconds by staff asking the same (dashboards poll it).
        return Response(page_cache.for_request(request, lambda: self.body(query), "overview"))

    def body(self, query) -> dict:
        start, end = query.window()
        summary = queries.overview(start, end)
        step = 300 if query.validated_data["hours"] <= 24 else 3600
        frame = queries.timeline(start, end, step)
        series = [
            {
                "time": row.time,
                "requests": row.requests,
                "p50_ms": row.p50,
                "p95_ms": row.p95,
                "p99_ms": row.p99,
                "error_rate": row.error_rate,
            }
            for row in frame.itertuples()
        ]
        body = {
            **summary,
            "hours": query.validated_data["hours"],
            "throughput_per_minute": summary["throughput"],
            "series": series,
        }
        return PerformanceOverviewSerializer(body).data


class EndpointsView(_ReadView):
    @extend_schema(
        parameters=[EndpointsQuery], responses=EndpointSerializer(many=True), tags=["monitoring"]
    )
    def get(self, request):
        query = self.query(EndpointsQuery)
        start, end = query.window()
        rows = queries.endpoints(start, end, route=query.validated_data.get("route"))
        rows = [{**r, "throughput_per_minute": r["throughput"]} for r in rows]
        return Response(EndpointSerializer(rows[: query.validated_data["limit"]], many=True).data)


class SystemView(_ReadView):
    @extend_schema(responses=HostSerializer(many=True), tags=["monitoring"])
    def get(self, request):
        hosts = []
        for sample in queries.latest_per_host():
            statuses = [
                queries.level(sample.cpu_percent, "cpu"),
                queries.level(sample.memory_percent, "memory"),
                queries.level(sample.disk_percent, "disk"),
            ]
            hosts.append({**vars(sample), "status": worst(statuses)})
        return Response(HostSerializer(hosts, many=True).data)
