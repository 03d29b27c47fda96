"""Imports from the admin as background jobs: the upload is stored, a worker imports it.

A file of a few megabytes replacing existing statements takes longer than a web
request may; so the request only stores the file and queues the job
(`tasks.start_import`), and the job's page shows its phase, progress, result and
every problem found.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from django.db import connection, connections
from django.utils import timezone

from config import audit
from dataquality.importer import import_file
from dataquality.models import ImportJob, Scan

# Problems kept on the job for its page and CSV (all of them are counted).
MAX_PROBLEMS_KEPT = 10_000
# At most one progress write per interval: a million rows must not mean a million updates.
PROGRESS_EVERY_S = 0.5


def run_import(
    job: ImportJob, *, start_scan: Callable[[str, Iterable[int], str], Scan] | None = None
) -> ImportJob:
    """Import the job's file (again, if a worker died while it ran); returns the job, refreshed.

    With `start_scan` (`tasks.start_scan`), the imported statements are checked by a
    scan of their own, linked to the job.
    """
    if job.status in ImportJob.FINISHED:
        return job
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now(), phase="reading"
    )
    try:
        with audit.acting(_uploader(job)):
            report = import_file(
                bytes(job.data),
                job.filename,
                save=not job.validate_only,
                source=job.filename,
                progress=ProgressWriter(job.pk),
            )
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
            phase="",
        )
        raise
    scan = None
    if report.saved and start_scan is not None:
        scan = start_scan(Scan.Scope.SELECTED, report.statement_ids, job.requested_by)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE if report.ok else ImportJob.Status.REJECTED,
        phase="",
        done=report.rows,
        total=report.rows,
        layout=report.layout,
        rows=report.rows,
        statements=report.statements,
        line_items=report.line_items,
        replaced=report.replaced,
        new_entities=len(report.new_entities),
        error_count=report.error_count,
        rejected_rows=report.rejected_rows,
        problems=[[e.row, e.column, e.message] for e in report.errors[:MAX_PROBLEMS_KEPT]],
        warnings=report.warnings,
        summary=report.summary(),
        scan=scan,
        finished_at=timezone.now(),
        data=b"",  # the file is not needed any more; it may be 20 MB
    )
    job.refresh_from_db()
    return job


def _uploader(job: ImportJob) -> audit.Actor:
    """The audit trail names who uploaded the file, not the worker that imported it."""
    from django.contrib.auth import get_user_model

    model = get_user_model()
    user = model.objects.filter(**{model.USERNAME_FIELD: job.requested_by}).first()
    return audit.Actor(f"import job {job.pk}", user=user)


class ProgressWriter:
    """Writes the importer's progress on the job row, where the admin page reads it.

    Storing runs in one transaction (all or nothing); on PostgreSQL its progress goes
    through a connection of its own so that the page sees it before the commit. SQLite
    allows one writer: there the page shows "storing" until the end.
    """

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.phase = ""
        self.written_at = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self.phase and now - self.written_at < PROGRESS_EVERY_S:
            return
        self.phase, self.written_at = phase, now
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job_id).update(phase=phase, done=done, total=total)
        elif connection.vendor == "postgresql":
            side = connections.create_connection("default")
            try:
                with side.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {ImportJob._meta.db_table} SET phase = %s, done = %s, "  # noqa: S608
                        "total = %s WHERE id = %s",
                        [phase, done, total, self.job_id],
                    )
            finally:
                side.close()
