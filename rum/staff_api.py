"""Staff read API: Core Web Vitals summary, performance overview, pages."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import Query, staff_with
from rum import queries, vitals
from rum.dashboards import PERMISSION
from rum.useragent import DEVICE_CLASSES


class PeriodSerializer(Query):
    days = serializers.IntegerField(min_value=1, max_value=30, default=7)
    site = serializers.IntegerField(min_value=1, required=False, help_text="A site's id.")
    device = serializers.ChoiceField(DEVICE_CLASSES, required=False)


class VitalSummarySerializer(serializers.Serializer):
    name = serializers.ChoiceField(vitals.NAMES)
    p75 = serializers.FloatField(allow_null=True)
    rating = serializers.CharField(allow_null=True)
    count = serializers.IntegerField()
    good = serializers.IntegerField()
    needs_improvement = serializers.IntegerField()
    poor = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    page_views = serializers.IntegerField()
    passing_share = serializers.FloatField(
        allow_null=True, help_text="% of assessed page views passing all Core Web Vitals."
    )
    vitals = VitalSummarySerializer(many=True)


class PageSerializer(serializers.Serializer):
    site_id = serializers.IntegerField()
    page = serializers.CharField()
    page_views = serializers.IntegerField()
    LCP = serializers.FloatField(allow_null=True)
    INP = serializers.FloatField(allow_null=True)
    CLS = serializers.FloatField(allow_null=True)
    FCP = serializers.FloatField(allow_null=True)
    TTFB = serializers.FloatField(allow_null=True)
    good_share = serializers.FloatField(allow_null=True)


class RumDeviceOverviewSerializer(serializers.Serializer):
    device = serializers.CharField()
    page_views = serializers.IntegerField()
    passing_share = serializers.FloatField(allow_null=True)
    p75 = serializers.DictField(child=serializers.FloatField(allow_null=True))


class RumOverviewSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    page_views = serializers.IntegerField()
    passing_share = serializers.FloatField(allow_null=True)
    worst_page = PageSerializer(allow_null=True)
    devices = RumDeviceOverviewSerializer(many=True)


class _RumView(APIView):
    permission_classes = [staff_with(PERMISSION)]

    def rows(self, request):
        params = PeriodSerializer.read(request)
        end = timezone.now()
        start = end - timedelta(days=params.validated_data["days"])
        f = queries.Filters(
            start,
            end,
            site_id=params.validated_data.get("site"),
            device=params.validated_data.get("device"),
        )
        return f, queries.rollup_rows(f)


class SummaryView(_RumView):
    @extend_schema(parameters=[PeriodSerializer], responses=SummarySerializer)
    def get(self, request):
        f, rows = self.rows(request)
        views, assessed, passed = queries.passing(rows)
        return Response(
            SummarySerializer(
                {
                    "start": f.start,
                    "end": f.end,
                    "page_views": views,
                    "passing_share": queries.share(passed, assessed),
                    "vitals": queries.vital_summaries(rows),
                }
            ).data
        )


class OverviewView(_RumView):
    @extend_schema(parameters=[PeriodSerializer], responses=RumOverviewSerializer)
    def get(self, request):
        f, rows = self.rows(request)
        views, assessed, passed = queries.passing(rows)
        devices = []
        for device in sorted({r["device"] for r in rows}):
            mine = [r for r in rows if r["device"] == device]
            d_views, d_assessed, d_passed = queries.passing(mine)
            devices.append(
                {
                    "device": device,
                    "page_views": d_views,
                    "passing_share": queries.share(d_passed, d_assessed),
                    "p75": {s["name"]: s["p75"] for s in queries.vital_summaries(mine)},
                }
            )
        body = {
            "start": f.start,
            "end": f.end,
            "page_views": views,
            "passing_share": queries.share(passed, assessed),
            "worst_page": queries.worst_page(rows),
            "devices": devices,
        }
        return Response(RumOverviewSerializer(body).data)


class PagesView(_RumView):
    @extend_schema(parameters=[PeriodSerializer], responses=PageSerializer(many=True))
    def get(self, request):
        _, rows = self.rows(request)
        return Response(PageSerializer(queries.pages(rows), many=True).data)
