"""Celery tasks: thin wrappers around the plain functions in scan.py, jobs.py, email_reports.py.

`start_scan` and `start_import` record the work and queue it; the plain
functions never queue a task themselves (an import that checks what it saved
is handed `start_scan`).
"""

from collections.abc import Iterable

from celery import shared_task
from django.db import transaction

from dataquality.email_reports import send_due_reports
from dataquality.jobs import run_import
from dataquality.models import ImportJob, Scan
from dataquality.scan import run_scan


def start_scan(scope: str, statement_ids: Iterable[int] = (), requested_by: str = "") -> Scan:
    """Record a scan and hand it to a worker (inline when tasks run eagerly)."""
    scan = Scan.objects.create(
        scope=scope, statement_ids=[int(i) for i in statement_ids], requested_by=requested_by
    )
    transaction.on_commit(lambda: run_scan_task.delay(scan.pk))
    return scan


def start_import(
    data: bytes, filename: str, *, validate_only: bool = False, requested_by: str = ""
) -> ImportJob:
    """Record the upload and hand it to a worker (inline when tasks run eagerly)."""
    job = ImportJob.objects.create(
        filename=filename[:255], data=data, validate_only=validate_only, requested_by=requested_by
    )
    transaction.on_commit(lambda: run_import_task.delay(job.pk))
    return job


@shared_task(name="dataquality.run_scan", ignore_result=True)
def run_scan_task(scan_id: int) -> None:
    scan = Scan.objects.filter(pk=scan_id).first()
    if scan is not None:
        run_scan(scan)


@shared_task(name="dataquality.nightly_scan", ignore_result=True)
def nightly_scan() -> None:
    """Statements changed since their last run (and entities that became overdue)."""
    run_scan(Scan.objects.create(scope=Scan.Scope.CHANGED, requested_by="schedule"))


@shared_task(name="dataquality.full_scan", ignore_result=True)
def full_scan() -> None:
    run_scan(Scan.objects.create(scope=Scan.Scope.ALL, requested_by="schedule"))


@shared_task(name="dataquality.send_reports", ignore_result=True)
def send_reports() -> None:
    send_due_reports()


@shared_task(name="dataquality.run_import", ignore_result=True)
def run_import_task(job_id: int) -> None:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        run_import(job, start_scan=start_scan)
