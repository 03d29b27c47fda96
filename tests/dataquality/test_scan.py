"""Scans: scores, history, batches, progress, resuming, and what the nightly scan picks."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dataquality import scan as scan_module
from dataquality.models import Finding, Run, Scan, Statement
from dataquality.scan import run_scan
from tests.dataquality.conftest import load, scan_all
from tests.dataquality.helpers import balance_sheet, join, load_csv

pytestmark = pytest.mark.django_db


def test_a_run_scores_100_minus_the_penalties_of_its_findings():
    # critical equation (50) + high negatives (30) = 80 points off
    load_csv(balance_sheet(assets=(120_000, -20_000), liabilities=(60_000,), equity=(10_000,)))
    scan_all()
    run = Run.objects.get()
    checks = set(Finding.objects.values_list("check_key", "severity"))
    assert checks == {("balance_equation", "critical"), ("negative_balances", "high")}
    assert (run.score, run.issues, run.critical) == (20, 2, 1)


def test_the_score_never_drops_below_zero():
    # equation (50) + negatives (30) + missing critical (50)
    load_csv(
        balance_sheet(
            assets=(120_000, -20_000, None, None),
            liabilities=(60_000,),
            equity=(10_000,),
            total_assets=100_000,
        )
    )
    scan_all()
    assert Run.objects.get().score == 0


def test_every_run_is_kept_so_a_statement_has_a_history():
    load_csv(balance_sheet(assets=(60_000, 40_000), liabilities=(50_000,), equity=(40_000,)))
    first = scan_all(now=timezone.now() - timedelta(days=7))
    fixed = balance_sheet(assets=(60_000, 40_000), liabilities=(50_000,), equity=(50_000,))
    load_csv(fixed, "fixed.csv")
    second = scan_all()
    statement = Statement.objects.get()
    scores = list(statement.runs.order_by("created_at").values_list("score", flat=True))
    assert scores == [50, 100]
    assert statement.latest_run.scan_id == second.pk
    assert first.runs.get().findings.get().check_key == "balance_equation"


def test_a_scan_in_batches_reports_progress_and_reads_one_query_per_batch(small_dataset):
    load(small_dataset)
    total = Statement.objects.count()
    scan = Scan.objects.create(scope=Scan.Scope.ALL)
    with CaptureQueriesContext(connection) as queries:
        run_scan(scan, batch_statements=12)  # four entities of 12 statements: 4 batches
    assert (scan.status, scan.done, scan.total) == ("done", total, total)
    assert Run.objects.filter(scan=scan).count() == total
    reads = [q for q in queries if "LEFT JOIN dataquality_lineitem" in q["sql"]]
    assert len(reads) == 4


def test_the_number_of_queries_does_not_grow_with_the_statements(small_dataset, today):
    from dataquality import synthetic

    load(small_dataset)
    with CaptureQueriesContext(connection) as small:
        scan_all()
    load(synthetic.generate(seed=9, today=today, entities=4, periods=(10, 10), stale=0), "b.csv")
    assert Statement.objects.count() > 100
    with CaptureQueriesContext(connection) as large:
        scan_all()
    assert len(large) <= len(small) + 4  # a few more bulk-insert chunks at most


@pytest.mark.parametrize("scope", [Scan.Scope.ALL, Scan.Scope.CHANGED])
def test_a_failed_scan_is_marked_and_a_rerun_finishes_without_duplicates(
    small_dataset, monkeypatch, scope
):
    load(small_dataset)
    scan = Scan.objects.create(scope=scope)
    real_store = scan_module.store_results
    calls = {"n": 0}

    def fail_on_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(scan_module, "store_results", fail_on_second_batch)
    with pytest.raises(RuntimeError):
        run_scan(scan, batch_statements=12)
    scan.refresh_from_db()
    assert scan.status == "failed" and "database went away" in scan.error
    assert 0 < Run.objects.filter(scan=scan).count() < scan.total

    monkeypatch.setattr(scan_module, "store_results", real_store)
    run_scan(scan, batch_statements=12)
    assert scan.status == "done"
    assert Run.objects.filter(scan=scan).count() == scan.total == Statement.objects.count()
    assert scan.done == scan.total
    # and running a finished scan again changes nothing
    run_scan(scan)
    assert Run.objects.filter(scan=scan).count() == scan.total


def test_the_nightly_scan_checks_only_new_and_changed_statements(today):
    recent = (today - timedelta(days=30)).isoformat()
    load_csv(join(balance_sheet("Acme", period=recent), balance_sheet("Globex", period=recent)))
    scan_all()
    assert run_scan(Scan.objects.create(scope=Scan.Scope.CHANGED)).total == 0

    load_csv(balance_sheet("Acme", period=recent, equity=(300,)), "acme-fixed.csv")
    load_csv(balance_sheet("Initech", period=recent), "new.csv")
    nightly = run_scan(Scan.objects.create(scope=Scan.Scope.CHANGED))
    checked = set(
        Run.objects.filter(scan=nightly).values_list("statement__entity__name", flat=True)
    )
    assert checked == {"Acme", "Initech"}


def test_the_nightly_scan_rechecks_an_entity_that_became_overdue(today):
    period = today - timedelta(days=92 + 45 - 3)
    load_csv(balance_sheet("Acme", period=period.isoformat()))
    scan_all()
    assert not Finding.objects.filter(check_key="freshness").exists()
    later = timezone.now() + timedelta(days=10)
    nightly = run_scan(Scan.objects.create(scope=Scan.Scope.CHANGED), now=later)
    assert nightly.total == 1
    assert Finding.objects.filter(run__scan=nightly, check_key="freshness").exists()


def test_the_nightly_and_weekly_tasks_run_scans():
    from dataquality.tasks import full_scan, nightly_scan

    load_csv(balance_sheet())
    nightly_scan.delay()
    full_scan.delay()
    scans = list(Scan.objects.order_by("id").values_list("scope", "status", "total"))
    assert scans == [("changed", "done", 1), ("all", "done", 1)]


def test_a_statement_deleted_while_a_scan_runs_is_skipped():
    load_csv(join(balance_sheet("Acme"), balance_sheet("Globex")))
    scan = Scan.objects.create(scope=Scan.Scope.ALL)
    scan.statement_ids = list(Statement.objects.values_list("id", flat=True))
    scan.total, scan.started_at = 2, timezone.now()
    scan.save()
    Statement.objects.filter(entity__name="Globex").delete()
    run_scan(scan)
    assert (scan.status, scan.done, scan.total) == ("done", 2, 2)
    assert list(Run.objects.values_list("statement__entity__name", flat=True)) == ["Acme"]
