"""Demo data: eight entities, three years of quarterly statements, defects, a month of history.

The statements are imported (as an import job, like an admin upload) with a batch
of defects, next to a rejected upload that shows how problems are reported; four weekly scans follow
in the past, and before each one a few statements are "corrected" (imported
again clean), so the score trend climbs. Some defects are never fixed: nulls,
an unbalanced balance sheet (and one whose total assets are empty), a balance
sheet that cannot be checked, an outlier (and one on net income), a sign error,
a duplicate, and a stale entity.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from dataquality import importer, synthetic
from dataquality.jobs import run_import
from dataquality.models import Entity, ImportJob, ReportSubscription, Scan
from dataquality.scan import run_scan

SEED = 20260101
ENTITIES = 8
# Defects fixed week after week, and the ones left for the dashboard to show.
DEFECTS = {
    "missing_high": 10,
    "missing_critical": 4,
    "equation": 8,
    "totals": 8,
    "duplicates": 6,
    "negatives": 6,
    "outliers": 10,
    "equation_empty_total": 3,
    "equation_not_evaluable": 3,
    "sign_errors": 4,
    "total_outliers": 4,
}
KEPT = {
    "missing_high",
    "missing_critical",
    "equation",
    "outliers",
    "duplicates",
    "equation_empty_total",
    "equation_not_evaluable",
    "sign_errors",
    "total_outliers",
}
KEPT_EACH = 3
WEEKS = 4


def _generate(today, defects):
    return synthetic.generate(
        seed=SEED, today=today, entities=ENTITIES, periods=(12, 12), defects=defects, stale=1
    )


def load(stdout) -> None:
    dataset = _generate(timezone.now().date(), DEFECTS)
    names = sorted(dataset.rows["entity"].unique())
    if Entity.objects.filter(name__in=names).exists():
        _refresh(stdout)
        return
    now = timezone.now()
    clean = _generate(now.date(), {})
    # Imported as the admin's upload would be: a job on the Imports page.
    job = ImportJob.objects.create(
        filename="demo-statements.csv", data=synthetic.to_csv(dataset), requested_by="demo"
    )
    job = run_import(job)  # no scan of its own: the scans below check everything
    if job.status != ImportJob.Status.DONE:
        raise RuntimeError(f"demo data did not import: {job.problems[:3]}")
    _rejected_upload(dataset)
    fixable = [d.statement for d in dataset.defects if d.kind not in KEPT]
    # Keep the last defect of each kept kind unfixed: the dashboard shows one of each.
    kept_once = {d.kind: d.statement for d in dataset.defects if d.kind in KEPT}
    fixable += [
        d.statement for d in dataset.defects if d.kind in KEPT and d.statement != kept_once[d.kind]
    ]
    per_week = -(-len(fixable) // WEEKS)
    for week in range(WEEKS, -1, -1):
        # The last scan runs after the last correction, so nothing is left "changed".
        moment = now - timedelta(days=7 * week) if week else timezone.now()
        run_scan(
            Scan.objects.create(scope=Scan.Scope.ALL, requested_by="demo", created_at=moment),
            now=moment,
        )
        batch, fixable = fixable[:per_week], fixable[per_week:]
        if batch and week:
            _fix(clean, batch)
    ReportSubscription.objects.get_or_create(
        name="Weekly data quality",
        defaults={"recipients": "demo@example.com", "frequency": "weekly"},
    )
    stdout.write(
        f"  {job.statements} statements, {job.line_items} line items, "
        f"{WEEKS + 1} scans over {WEEKS} weeks"
    )


def _fix(clean: synthetic.Dataset, statements) -> None:
    rows = clean.rows
    key = list(zip(rows["entity"], rows["statement_type"], rows["period_end"], strict=True))
    wanted = {(e, t, p.isoformat()) for e, t, p in statements}
    fixed = rows[[k in wanted for k in key]]
    report = importer.import_file(fixed.to_csv(index=False).encode(), "demo-corrections.csv")
    if not report.ok:
        raise RuntimeError(f"demo corrections did not import: {report.errors[:3]}")


def _rejected_upload(dataset: synthetic.Dataset) -> None:
    """A European Excel export with two mistakes: the Imports page shows how it is reported."""
    first = dataset.rows.iloc[0]
    rows = dataset.rows[
        (dataset.rows["entity"] == first["entity"])
        & (dataset.rows["statement_type"] == first["statement_type"])
        & (dataset.rows["period_end"] == first["period_end"])
    ].copy()
    rows["period_end"] = [f"{p[8:10]}.{p[5:7]}.{p[:4]}" for p in rows["period_end"]]
    rows["value"] = rows["value"].str.replace(".", ",", regex=False)
    rows.loc[rows.index[2], "period_end"] = "31/12/2025"
    rows.loc[rows.index[4], "metric"] = "inventory\x00"
    data = rows.to_csv(index=False, sep=";").encode()
    run_import(
        ImportJob.objects.create(
            filename="demo-export-semicolons.csv", data=data, requested_by="demo"
        ),
    )


def _refresh(stdout) -> None:
    """A second `make demo`: check what changed since the last scan (fast), nothing more."""
    scan = run_scan(Scan.objects.create(scope=Scan.Scope.CHANGED, requested_by="demo"))
    stdout.write(f"  already loaded; {scan.total} statement(s) needed a new check")
