from django.urls import path

from dataquality import api

urlpatterns = [
    path("api/dataquality/reports/", api.ReportListView.as_view(), name="dq-reports"),
    path(
        "api/dataquality/statements/<int:statement_id>/report/",
        api.StatementReportView.as_view(),
        name="dq-statement-report",
    ),
    path("api/dataquality/checks/", api.TriggerCheckView.as_view(), name="dq-trigger"),
    path("api/dataquality/scans/<int:scan_id>/", api.ScanView.as_view(), name="dq-scan"),
]
