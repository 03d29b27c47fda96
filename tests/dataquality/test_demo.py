import io

import pytest

from dataquality import demo
from dataquality.models import Finding, ImportJob, LineItem, Run, Statement
from dataquality.queries import open_findings, recommendations, summary

pytestmark = pytest.mark.django_db


def test_the_demo_fills_the_dashboard_with_a_trend_and_every_kind_of_defect():
    demo.load(io.StringIO())
    statements = Statement.objects.count()
    assert 200 <= statements <= 400
    assert Run.objects.count() == statements * (demo.WEEKS + 1)
    open_checks = set(
        Finding.objects.filter(run_id__in=Statement.objects.values("latest_run")).values_list(
            "check_key", flat=True
        )
    )
    assert {
        "missing_data",
        "balance_equation",
        "outliers",
        "duplicates",
        "freshness",
        "inconsistent_values",
    } <= open_checks
    latest = Finding.objects.filter(run_id__in=Statement.objects.values("latest_run"))
    # an empty total computed from its components, a sheet that cannot be checked
    equation = latest.filter(check_key="balance_equation")
    assert equation.filter(description__contains="computed from its components").exists()
    assert equation.filter(description__startswith="Not evaluable:").exists()
    # an outlier on net income, a total line nothing sums
    flagged = [
        i
        for ids in latest.filter(check_key="outliers").values_list("sample_ids", flat=True)
        for i in ids
    ]
    assert LineItem.objects.filter(id__in=flagged, metric="net_income").exists()
    # the dashboard's "What to fix first" has something to say
    assert len(recommendations(open_findings(Statement.objects.all()))) == 5
    # corrections over the weeks: the first scan scored lower than the last
    first = Run.objects.order_by("created_at").first().scan
    first_average = sum(first.runs.values_list("score", flat=True)) / statements
    assert summary().average > first_average


def test_loading_the_demo_again_adds_nothing():
    demo.load(io.StringIO())
    runs = Run.objects.count()
    out = io.StringIO()
    demo.load(out)
    assert "already loaded; 0 statement(s) needed a new check" in out.getvalue()
    assert Run.objects.count() == runs


def test_the_demo_shows_an_import_job_and_a_rejected_upload_with_its_problems(admin_client):
    demo.load(io.StringIO())
    done = ImportJob.objects.get(filename="demo-statements.csv")
    assert done.status == ImportJob.Status.DONE
    assert done.statements == Statement.objects.count()
    rejected = ImportJob.objects.get(filename="demo-export-semicolons.csv")
    assert rejected.status == ImportJob.Status.REJECTED
    assert rejected.layout == "semicolon-separated, decimal comma"
    assert [(line, column) for line, column, _ in rejected.problems] == [
        (4, "period_end"),
        (6, "metric"),
    ]
    page = admin_client.get(f"/admin/dataquality/importjob/{rejected.pk}/change/")
    assert "DD.MM.YYYY" in page.text and "U+0000 (NUL)" in page.text
