"""Demo data: eight entities, three years of quarterly statements, defects, a month of history.

The statements are imported with a batch of defects; four weekly scans follow
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
from dataquality.models import Entity, ReportSubscription, Scan
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
    report = importer.import_file(synthetic.to_csv(dataset), "demo-statements.csv")
    if not report.ok:
        raise RuntimeError(f"demo data did not import: {report.errors[:3]}")
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
        f"  {report.statements} statements, {report.line_items} line items, "
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


def _refresh(stdout) -> None:
    """A second `make demo`: check what changed since the last scan (fast), nothing more."""
    scan = run_scan(Scan.objects.create(scope=Scan.Scope.CHANGED, requested_by="demo"))
    stdout.write(f"  already loaded; {scan.total} statement(s) needed a new check")
