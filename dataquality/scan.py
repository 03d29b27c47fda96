"""Scans: every enabled check over many statements at once, stored as runs with scores.

A scan works in batches of whole entities (so the checks that compare periods
see each entity's history): one query reads a batch into a DataFrame, the
checks run on it with pandas, and the runs and findings are written with bulk
inserts. Progress is counted on the Scan row after each batch; a scan that is
run again (a retried task) skips the statements it already stored.
"""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from dataquality.check_config import current_settings
from dataquality.checks import REGISTRY, ScanData
from dataquality.checks.outliers import pooled_scales
from dataquality.frames import id_list, read_frame
from dataquality.models import PENALTIES, Entity, Finding, Run, Scan, Statement

log = logging.getLogger(__name__)

# Statements (targets and their history) read per batch: ~50 line items each.
BATCH_STATEMENTS = 4000

BATCH_SQL = """
SELECT s.id AS statement_id, s.entity_id, s.statement_type, s.period_end,
       e.expected_cadence_days AS cadence_days,
       li.id, li.metric, li.category, li.period,
       CAST(li.value AS DOUBLE PRECISION) AS value, li.is_total, li.parent_id
FROM dataquality_statement s
JOIN dataquality_entity e ON e.id = s.entity_id
LEFT JOIN dataquality_lineitem li ON li.statement_id = s.id
WHERE s.entity_id IN ({entities})
"""
BATCH_TYPES = {
    "statement_id": "int",
    "entity_id": "int",
    "statement_type": "str",
    "period_end": "str",
    "cadence_days": "int",
    "id": "int",
    "metric": "str",
    "category": "str",
    "period": "str",
    "value": "float",
    "is_total": "bool",
    "parent_id": "int",
}
STATEMENT_COLUMNS = ["statement_id", "entity_id", "statement_type", "period_end", "cadence_days"]

SCALES_SQL = """
SELECT s.entity_id, s.statement_type, li.metric, li.period,
       CAST(li.value AS DOUBLE PRECISION) AS value, li.is_total
FROM dataquality_lineitem li
JOIN dataquality_statement s ON s.id = li.statement_id
WHERE li.period = s.period_end AND li.value IS NOT NULL
  AND s.entity_id % {every} = 0
"""
# Entities the pooled outlier scales are estimated from: a median absolute
# deviation over a few thousand points per metric is as good as over all of them.
SCALE_ENTITIES = 250
SCALES_TYPES = {
    "entity_id": "int",
    "statement_type": "str",
    "metric": "str",
    "period": "str",
    "value": "float",
    "is_total": "bool",
}


def run_scan(scan: Scan, now: datetime | None = None, batch_statements: int = BATCH_STATEMENTS):
    """Run (or resume) a scan to the end; returns it, refreshed."""
    if scan.status == Scan.Status.DONE:
        return scan
    now = now or timezone.now()
    try:
        _run(scan, now, batch_statements)
    except Exception as exc:
        Scan.objects.filter(pk=scan.pk).update(
            status=Scan.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=now
        )
        raise
    scan.refresh_from_db()
    return scan


def _run(scan: Scan, now: datetime, batch_statements: int) -> None:
    if scan.started_at is None:
        # Resolved once: a resumed scan finishes the same statements it started with.
        targets = resolve_targets(scan, now)
        scan.statement_ids = targets
        scan.total = len(targets)
        scan.started_at = timezone.now()
    scan.status = Scan.Status.RUNNING
    scan.save(update_fields=["statement_ids", "total", "status", "started_at"])
    already = set(Run.objects.filter(scan=scan).values_list("statement_id", flat=True))
    Scan.objects.filter(pk=scan.pk).update(done=len(already))
    todo = [i for i in scan.statement_ids if i not in already]
    settings = {k: s for k, s in current_settings().items() if s.enabled}
    scales = None
    if "outliers" in settings and todo:
        scales = population_scales(settings["outliers"].params["min_periods"])
    for entities, targets in plan_batches(todo, batch_statements):
        items, statements = read_batch(entities)
        # A statement deleted since the scan started is skipped, not an error.
        present = np.intersect1d(targets, statements["statement_id"].to_numpy())
        data = ScanData(items, statements, present, now, scales)
        findings = run_checks(data, settings)
        stored = store_results(scan, data, findings, now)
        Scan.objects.filter(pk=scan.pk).update(
            done=F("done") + len(targets), findings=F("findings") + stored
        )
    # Statements deleted meanwhile were skipped; every target has been dealt with.
    Scan.objects.filter(pk=scan.pk).update(
        status=Scan.Status.DONE, finished_at=timezone.now(), error="", done=F("total")
    )


def resolve_targets(scan: Scan, now: datetime) -> list[int]:
    if scan.scope == Scan.Scope.ALL:
        return list(Statement.objects.order_by("id").values_list("id", flat=True))
    if scan.scope == Scan.Scope.SELECTED:
        wanted = [int(i) for i in scan.statement_ids]
        found = Statement.objects.filter(id__in=wanted).values_list("id", flat=True)
        return sorted(found)
    return changed_statements(now)


def changed_statements(now: datetime) -> list[int]:
    """Statements never checked or changed since their last run, plus the latest statement
    of each entity that has become overdue since its last run (freshness depends on time)."""
    changed = set(
        Statement.objects.filter(
            Q(latest_run__isnull=True) | Q(updated_at__gt=F("latest_run__created_at"))
        ).values_list("id", flat=True)
    )
    grace = current_settings()["freshness"].params["grace_days"]
    rows = Statement.objects.values_list(
        "id",
        "entity_id",
        "statement_type",
        "period_end",
        "entity__expected_cadence_days",
        "latest_run__created_at",
    )
    frame = pd.DataFrame(
        list(rows), columns=["id", "entity", "type", "period_end", "cadence", "checked_at"]
    )
    if not frame.empty:
        frame["period_end"] = pd.to_datetime(frame["period_end"])
        latest = frame[
            frame["period_end"] == frame.groupby(["entity", "type"])["period_end"].transform("max")
        ]
        due = latest["period_end"] + pd.to_timedelta(latest["cadence"] + grace, unit="D")
        due = due.dt.tz_localize("UTC")
        checked = pd.to_datetime(latest["checked_at"], utc=True)
        overdue = latest[(due < pd.Timestamp(now)) & (checked < due)]
        changed.update(int(i) for i in overdue["id"])
    return sorted(changed)


def plan_batches(targets: list[int], batch_statements: int):
    """Yield (entity ids, target statement ids) covering the targets, whole entities each."""
    if not targets:
        return
    rows = Statement.objects.values_list("id", "entity_id")
    frame = pd.DataFrame(list(rows), columns=["id", "entity_id"])
    frame["target"] = frame["id"].isin(targets)
    # Whole entities: a target's history comes along for the checks that compare periods.
    frame = frame[frame["entity_id"].isin(frame.loc[frame["target"], "entity_id"])]
    sizes = frame.groupby("entity_id").size()
    batch_of = (sizes.cumsum() - 1) // max(batch_statements, 1)
    frame["batch"] = frame["entity_id"].map(batch_of)
    for _, group in frame.groupby("batch"):
        yield (
            sorted(group["entity_id"].unique().tolist()),
            group.loc[group["target"], "id"].tolist(),
        )


def read_batch(entity_ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = read_frame(
        BATCH_SQL.format(entities=id_list(entity_ids)), BATCH_TYPES, ["period_end", "period"]
    )
    statements = frame.drop_duplicates("statement_id")[STATEMENT_COLUMNS].reset_index(drop=True)
    items = frame[frame["id"].notna()].copy()
    items["id"] = items["id"].astype("int64")
    return items.reset_index(drop=True), statements


def population_scales(min_periods: int) -> pd.Series:
    """The outlier check's pooled scales over the population, so a statement's verdict
    does not depend on which other statements happen to be in the same scan.

    Up to SCALE_ENTITIES entities take part (every k-th by id, always the same ones).
    """
    every = max(1, Entity.objects.count() // SCALE_ENTITIES)
    series = read_frame(SCALES_SQL.format(every=every), SCALES_TYPES, ["period"])
    series = series.drop_duplicates(["entity_id", "statement_type", "metric", "period"])
    return pooled_scales(series, min_periods)


def run_checks(data: ScanData, settings) -> pd.DataFrame:
    frames = []
    for key, check_settings in settings.items():
        check = REGISTRY[key]
        found = check.run(data, check_settings)
        if not found.empty:
            frames.append(found.assign(check=key, recommendation=check.recommendation))
    if not frames:
        return pd.DataFrame(
            columns=[
                "statement_id",
                "check",
                "severity",
                "description",
                "affected_rows",
                "sample_ids",
                "recommendation",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def scores(findings: pd.DataFrame, targets) -> pd.DataFrame:
    """Per target statement: score (100 minus penalties, floor 0), issues, critical."""
    index = pd.Index(targets, name="statement_id")
    penalty = findings["severity"].map(PENALTIES).fillna(0)
    by_statement = findings.assign(
        penalty=penalty, critical=(findings["severity"] == "critical").astype(int)
    ).groupby("statement_id")
    out = pd.DataFrame(
        {
            "penalty": by_statement["penalty"].sum(),
            "issues": by_statement.size(),
            "critical": by_statement["critical"].sum(),
        }
    ).reindex(index, fill_value=0)
    out["score"] = (100 - out["penalty"]).clip(lower=0).astype(int)
    return out


def store_results(scan: Scan, data: ScanData, findings: pd.DataFrame, now: datetime) -> int:
    """Bulk-insert a run per target and its findings; point each statement at its run."""
    table = scores(findings, data.targets)
    line_counts = data.items.groupby("statement_id").size()
    with transaction.atomic():
        runs = Run.objects.bulk_create(
            [
                Run(
                    statement_id=int(sid),
                    scan=scan,
                    created_at=now,
                    score=int(row.score),
                    issues=int(row.issues),
                    critical=int(row.critical),
                    line_items=int(line_counts.get(sid, 0)),
                )
                for sid, row in zip(table.index, table.itertuples(index=False), strict=True)
            ],
            batch_size=2000,
        )
        run_ids = {run.statement_id: run.pk for run in runs}
        Finding.objects.bulk_create(
            [
                Finding(
                    run_id=run_ids[int(f.statement_id)],
                    statement_id=int(f.statement_id),
                    check_key=f.check,
                    severity=f.severity,
                    description=f.description,
                    affected_rows=int(f.affected_rows),
                    sample_ids=list(f.sample_ids),
                    recommendation=f.recommendation,
                    created_at=now,
                )
                for f in findings.itertuples(index=False)
            ],
            batch_size=2000,
        )
        point_at_latest_runs(list(run_ids))
    return len(findings)


def point_at_latest_runs(statement_ids: list[int]) -> None:
    latest = Run.objects.filter(statement=OuterRef("pk")).order_by("-created_at", "-id")
    Statement.objects.filter(id__in=statement_ids).update(
        latest_run=Subquery(latest.values("id")[:1])
    )
