"""Celery tasks: thin wrappers around the plain functions in scan.py, jobs.py, email_reports.py."""

from celery import shared_task

from dataquality.models import Scan


@shared_task(name="dataquality.run_scan", ignore_result=True)
def run_scan_task(scan_id: int) -> None:
    from dataquality.scan import run_scan

    scan = Scan.objects.filter(pk=scan_id).first()
    if scan is not None:
        run_scan(scan)


@shared_task(name="dataquality.nightly_scan", ignore_result=True)
def nightly_scan() -> None:
    """Statements changed since their last run (and entities that became overdue)."""
    from dataquality.scan import run_scan

    run_scan(Scan.objects.create(scope=Scan.Scope.CHANGED, requested_by="schedule"))


@shared_task(name="dataquality.full_scan", ignore_result=True)
def full_scan() -> None:
    from dataquality.scan import run_scan

    run_scan(Scan.objects.create(scope=Scan.Scope.ALL, requested_by="schedule"))


@shared_task(name="dataquality.send_reports", ignore_result=True)
def send_reports() -> None:
    from dataquality.email_reports import send_due_reports

    send_due_reports()


@shared_task(name="dataquality.run_import", ignore_result=True)
def run_import_task(job_id: int) -> None:
    from dataquality.jobs import run_import
    from dataquality.models import ImportJob

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        run_import(job)
