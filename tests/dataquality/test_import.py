"""Import: a validation report before anything is saved, all or nothing per file."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connections, transaction
from openpyxl import Workbook

from dataquality.importer import import_file
from dataquality.jobs import ProgressWriter
from dataquality.models import Entity, ImportJob, LineItem, Run, Statement
from dataquality.tasks import run_import_task
from tests.dataquality.helpers import HEADER, balance_sheet, load_csv

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/dataquality/statement/import/"


def test_a_clean_file_is_imported_with_totals_and_their_components():
    report = import_file(balance_sheet().encode(), "acme.csv")
    assert report.ok and report.saved
    assert (report.statements, report.line_items, report.new_entities) == (1, 5, ["Acme"])
    total = LineItem.objects.get(metric="total_assets")
    assert total.is_total
    assert sorted(total.components.values_list("metric", flat=True)) == ["asset_0", "asset_1"]
    assert LineItem.objects.get(metric="asset_0").source_row == 3


def test_accountants_number_formats_are_understood():
    text = (
        HEADER + ",currency\n"
        'Acme,Income statement,2025-12-31,revenue,Revenue,"1,234.50",no,,eur\n'
        "Acme,income statement,2025-12-31,refund,revenue,(12.25),no,,EUR\n"
        "Acme,income statement,2025-12-31,other,revenue,,no,,EUR\n"
    )
    report = import_file(text.encode(), "acme.csv")
    assert report.ok, report.errors
    values = dict(LineItem.objects.values_list("metric", "value"))
    assert {k: (None if v is None else float(v)) for k, v in values.items()} == {
        "revenue": 1234.5,
        "refund": -12.25,
        "other": None,
    }
    assert Statement.objects.get().currency == "EUR"


def test_a_file_with_bad_rows_is_rejected_whole_with_every_reason():
    text = balance_sheet() + (
        "Acme,balance_sheet,2025-12-31,cash,assets,12abc,false,\n"
        "Acme,balance_sheet,31/12/2025,cash,assets,1,false,\n"
        "Acme,ledger,2025-12-31,cash,assets,1,false,\n"
        "Acme,balance_sheet,2025-12-31,cash,assets,1,maybe,\n"
        "Acme,balance_sheet,2025-12-31,cash,assets,1,false,total_cash\n"
    )
    report = import_file(text.encode(), "bad.csv")
    assert not report.ok and not report.saved
    problems = {(e.row, e.column) for e in report.errors}
    assert problems == {
        (7, "value"),
        (8, "period_end"),
        (9, "statement_type"),
        (10, "is_total"),
        (11, "parent"),
    }
    assert "'12abc' is not a number" in str(report.errors[0])
    assert report.rejected_rows == 5
    assert Statement.objects.count() == LineItem.objects.count() == Entity.objects.count() == 0


def test_unknown_and_missing_columns_are_named():
    report = import_file(b"entity,statement_type,period_end,metric,amount\nA,x,y,z,1\n", "x.csv")
    messages = [str(e) for e in report.errors]
    assert any("unknown column(s) amount" in m for m in messages)
    assert any("missing column(s) category, value" in m for m in messages)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "not a readable CSV file"),
        (HEADER.encode() + b"\n", "header.csv", "has a header but no rows"),
        (b"\xff\xfe\x00garbage", "binary.csv", "not UTF-8"),
        (b"PK\x03\x04 not really", "broken.xlsx", "not a readable Excel file"),
        (b"whatever", "notes.pdf", "upload a .csv or .xlsx file"),
    ],
)
def test_unreadable_files_get_a_clear_message(data, name, message):
    report = import_file(data, name)
    assert not report.ok
    assert message in str(report.errors[0])


def test_duplicate_rows_are_reported_and_kept_for_the_duplicates_check():
    text = balance_sheet()
    text += text.strip().split("\n")[-1] + "\n"
    report = import_file(text.encode(), "dup.csv")
    assert report.ok
    assert (
        "2 rows repeat a metric for the same statement and period (lines 6, 7)"
        in (report.warnings[0])
    )
    assert LineItem.objects.filter(metric="equity_0").count() == 2


def test_importing_a_statement_again_replaces_its_line_items():
    import_file(balance_sheet(equity=(400,)).encode(), "v1.csv")
    first = Statement.objects.get()
    report = import_file(balance_sheet(equity=(500,)).encode(), "v2.csv")
    assert report.replaced == 1
    statement = Statement.objects.get()
    assert statement.pk == first.pk and statement.updated_at > first.updated_at
    assert LineItem.objects.count() == 5
    assert float(LineItem.objects.get(metric="equity_0").value) == 500


def test_importing_again_unlinks_a_line_of_another_statement_that_named_a_replaced_total():
    import_file(balance_sheet(entity="Acme").encode(), "acme.csv")
    import_file(balance_sheet(entity="Beta").encode(), "beta.csv")
    edited = LineItem.objects.get(statement__entity__name="Beta", metric="liability_0")
    edited.parent = LineItem.objects.get(statement__entity__name="Acme", metric="total_assets")
    edited.save()  # a hand edit in the admin
    report = import_file(balance_sheet(entity="Acme").encode(), "acme.csv")
    assert report.ok and report.replaced == 1
    edited.refresh_from_db()
    assert edited.parent is None
    assert LineItem.objects.filter(statement__entity__name="Acme").count() == 5


def test_an_excel_workbook_is_imported():
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    from datetime import date

    sheet.append(
        ["Acme", "balance_sheet", date(2025, 12, 31), "cash", "assets", 1500.5, False, None]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_file(buffer.getvalue(), "acme.xlsx")
    assert report.ok, [str(e) for e in report.errors]
    item = LineItem.objects.get()
    assert (item.metric, float(item.value), item.period.isoformat()) == (
        "cash",
        1500.5,
        "2025-12-31",
    )


def _upload(client, text, name="acme.csv", **fields):
    upload = SimpleUploadedFile(name, text.encode(), "text/csv")
    return client.post(IMPORT_URL, {"file": upload, **fields})


def test_an_admin_upload_is_queued_for_a_worker_not_imported_in_the_request(admin_client):
    load_csv(balance_sheet(equity=(400,)))
    response = _upload(admin_client, balance_sheet(equity=(500,)))
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/dataquality/importjob/{job.pk}/change/"
    # Nothing imported yet: the request only stored the file.
    assert job.status == ImportJob.Status.QUEUED and bytes(job.data)
    assert float(LineItem.objects.get(metric="equity_0").value) == 400
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert "Queued" in page.text and 'http-equiv="refresh"' in page.text

    run_import_task(job.pk)  # what the worker does

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and bytes(job.data) == b""
    assert float(LineItem.objects.get(metric="equity_0").value) == 500
    page = admin_client.get(response["Location"])
    assert "imported: 1 statement(s), 5 line item(s) (1 statement(s) replaced" in page.text
    assert "comma-separated, decimal point" in page.text
    assert 'http-equiv="refresh"' not in page.text
    listed = admin_client.get(IMPORT_URL)
    assert f"/admin/dataquality/importjob/{job.pk}/change/" in listed.text


def test_an_admin_import_checks_what_it_imported(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(admin_client, balance_sheet())
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE and job.scan is not None
    assert Run.objects.filter(statement__entity__name="Acme", scan=job.scan).count() == 1
    page = admin_client.get(response["Location"])
    assert f"/admin/dataquality/scan/{job.scan_id}/change/" in page.text


def test_validate_only_runs_as_a_job_and_stores_nothing(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(admin_client, balance_sheet(), validate_only="on")
    page = admin_client.get(response["Location"])
    assert "valid, not imported yet: 1 statement(s), 5 line item(s)" in page.text
    assert Statement.objects.count() == 0 and ImportJob.objects.get().scan is None


def test_the_import_page_lists_every_problem_of_a_rejected_file(
    admin_client, django_capture_on_commit_callbacks
):
    bad = [f"Acme,balance_sheet,2025-12-31,cash_{i},assets,x{i},false,\n" for i in range(130)]
    text = balance_sheet() + "".join(bad) + "Ac\x00me,balance_sheet,2025-12-31,c,assets,1,false,\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(admin_client, text, "bad.csv")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.REJECTED and job.error_count == 131
    page = admin_client.get(response["Location"])
    assert "nothing imported; 131 problem(s) in 131 of 136 row(s)" in page.text
    assert "<td>7</td><td>value</td><td>&#x27;x0&#x27; is not a number</td>" in page.text
    assert "… and 31 more" in page.text
    problems = admin_client.get(f"/admin/dataquality/importjob/{job.pk}/problems.csv")
    lines = problems.content.decode().splitlines()
    assert len(lines) == 132 and lines[-1].startswith("137,entity,contains the control character")
    assert Statement.objects.count() == 0


def test_the_admin_upload_refuses_a_file_over_the_limit(admin_client, settings):
    settings.DATAQUALITY_IMPORT_MAX_MB = 0
    response = _upload(admin_client, balance_sheet(), "big.csv")
    assert response.status_code == 400
    assert "the limit is 0 MB" in response.text
    assert Statement.objects.count() == ImportJob.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_while_storing_is_visible_before_the_commit(admin_client):
    """Storing is one transaction; its progress is still shown to another request."""
    job = ImportJob.objects.create(filename="big.csv", status=ImportJob.Status.RUNNING)
    with transaction.atomic():
        ProgressWriter(job.pk)("storing", 300, 1000)
        page = admin_client.get(f"/admin/dataquality/importjob/{job.pk}/change/")
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT phase, done FROM dataquality_importjob WHERE id = %s", [job.pk]
                )
                assert cursor.fetchone() == ("storing", 300)
        finally:
            other.close()
    assert "storing the line items" in page.text and 'value="300"' in page.text


def test_the_import_page_needs_the_add_permission(staff_client):
    assert staff_client.get(IMPORT_URL).status_code == 403


def test_the_command_imports_and_checks(tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "acme.csv"
    path.write_text(balance_sheet())
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_statements", str(path), stdout=out)
    assert "acme.csv: imported: 1 statement(s), 5 line item(s)" in out.getvalue()
    assert Run.objects.count() == 1


def test_the_command_fails_on_a_bad_file_and_stores_nothing(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(balance_sheet() + "Acme,balance_sheet,2025-12-31,cash,assets,x,false,\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 file"):
        call_command("import_statements", str(path), stderr=err)
    assert "line 7, value: 'x' is not a number" in err.getvalue()
    assert Statement.objects.count() == 0


# --- files from other spreadsheets and with hostile bytes: reported, never a crash ---

EUROPEAN = (
    "entity;statement_type;period_end;metric;category;value;is_total;parent\n"
    "Acme;balance_sheet;2025-12-31;total_assets;assets;1.234,56;true;\n"
    "Acme;balance_sheet;2025-12-31;cash;assets;1.000,5;false;total_assets\n"
    "Acme;balance_sheet;2025-12-31;stock;assets;234,06;false;total_assets\n"
    "Acme;balance_sheet;2025-12-31;debt;liabilities;(12,5);false;\n"
)


def test_a_semicolon_file_with_decimal_commas_is_read_as_such():
    report = import_file(EUROPEAN.encode(), "export.csv")
    assert report.ok, [str(e) for e in report.errors]
    assert report.layout == "semicolon-separated, decimal comma"
    values = {m: float(v) for m, v in LineItem.objects.values_list("metric", "value")}
    assert values == {"total_assets": 1234.56, "cash": 1000.5, "stock": 234.06, "debt": -12.5}
    assert LineItem.objects.get(metric="cash").parent.metric == "total_assets"


def test_a_file_mixing_decimal_marks_is_refused_with_the_lines():
    text = EUROPEAN + "Acme;balance_sheet;2025-12-31;other;assets;1.5;false;\n"
    report = import_file(text.encode(), "mixed.csv")
    assert not report.ok
    message = str(report.errors[0])
    assert "decimal" in message and "line 2" in message and "line 6" in message
    assert Statement.objects.count() == 0


def test_nul_and_control_characters_are_refused_with_row_and_column():
    text = balance_sheet() + (
        "Ac\x00me,balance_sheet,2025-12-31,cash,assets,1,false,\n"
        "Acme,balance_sheet,2025-12-31,ca\x07sh,assets,1,false,\n"
    )
    report = import_file(text.encode(), "nul.csv")
    assert not report.ok and Statement.objects.count() == 0
    problems = {(e.row, e.column): e.message for e in report.errors}
    assert set(problems) == {(7, "entity"), (8, "metric")}
    assert "U+0000" in problems[(7, "entity")]
    assert "U+0007" in problems[(8, "metric")]


def test_every_problem_of_a_file_is_listed_not_only_the_first():
    text = balance_sheet() + (
        "Acme,balance_sheet,2025-12-31,cash,assets,1,false,,extra\n"
        "Ac\x00me,balance_sheet,2025-12-31,cash,assets,x,false,\n"
        "Acme,balance_sheet,2025-12-31,cash,assets,1,false,,extra\n"
    )
    report = import_file(text.encode(), "many.csv")
    problems = sorted((e.row, e.column) for e in report.errors)
    assert problems == [(7, ""), (8, "entity"), (8, "value"), (9, "")]
    assert "expected 8 fields, found 9" in str(report.errors[0])


def test_a_bad_date_names_the_accepted_formats_and_blames_nothing_else():
    text = (
        HEADER + "\n"
        "Acme,balance_sheet,2025-12-31,total_assets,assets,2,true,\n"
        "Acme,balance_sheet,31/12/2025,cash,assets,1,false,total_assets\n"
        "Acme,balance_sheet,2025-12-31,stock,assets,1,false,total_assets\n"
    )
    report = import_file(text.encode(), "dates.csv")
    assert [(e.row, e.column) for e in report.errors] == [(3, "period_end")]
    message = report.errors[0].message
    assert "YYYY-MM-DD" in message and "DD.MM.YYYY" in message


def test_european_dates_with_dots_are_accepted():
    text = EUROPEAN.replace("2025-12-31", "31.12.2025")
    report = import_file(text.encode(), "dots.csv")
    assert report.ok, [str(e) for e in report.errors]
    assert Statement.objects.get().period_end.isoformat() == "2025-12-31"


def test_a_header_that_names_no_column_says_which_delimiters_are_read():
    report = import_file(b"name|kind|date\nA|b|c\n", "odd.csv")
    assert not report.ok
    assert "comma, semicolon or tab" in str(report.errors[0])
