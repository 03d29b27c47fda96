"""Slow requests keep a capped sample with normalised SQL; N+1 loops are flagged."""

import pytest

from monitoring import rollup_reads
from monitoring.models import MINUTE, QueryFingerprint, RequestSample, Rollup
from monitoring.recorder import SAMPLES_PER_ROUTE_MINUTE
from tests.monitoring.conftest import flush_and_fold

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.monitoring.urls")]


def test_a_slow_request_keeps_its_sql_without_values(client, settings, backend):
    settings.MONITORING_SLOW_REQUEST_MS = 0  # every request is slow
    client.get("/api/secrets/")
    flush_and_fold()
    sample = RequestSample.objects.get()
    assert (sample.route, sample.method, sample.status, sample.slow) == (
        "/api/secrets/",
        "GET",
        200,
        True,
    )
    assert sample.duration_ms >= sample.db_ms > 0 and sample.query_count == 1
    [query] = sample.queries
    assert query["sql"] == "SELECT ?, ?, ?"
    assert "secret" not in str(sample.queries) and query["ms"] > 0


def test_a_statement_of_thousands_of_values_is_counted_under_its_shape(client, backend):
    client.get("/api/bulk/")
    client.get("/api/bulk/")
    flush_and_fold()
    statement = "SELECT count(*) FROM (VALUES (?)) AS v (a, b)"
    assert QueryFingerprint.objects.filter(statement=statement).exists()
    assert Rollup.objects.filter(kind="request", name="/api/bulk/").exists()


def test_fast_requests_keep_no_sample(client, backend):
    client.get("/api/users/")
    flush_and_fold()
    assert RequestSample.objects.count() == 0


def test_a_flood_of_slow_requests_keeps_a_few_samples(client, settings, backend):
    settings.MONITORING_SLOW_REQUEST_MS = 0
    for pk in range(50):
        client.get(f"/api/orders/{pk}/")
    flush_and_fold()
    assert RequestSample.objects.count() == SAMPLES_PER_ROUTE_MINUTE


def test_the_same_statement_five_times_is_an_n_plus_one(client, backend):
    client.get("/api/users/n-plus-one/")
    client.get("/api/users/")
    flush_and_fold()
    sample = RequestSample.objects.get()
    assert sample.n_plus_one and not sample.slow
    [repeated] = sample.repeated
    assert repeated["count"] == 7
    assert repeated["sql"].startswith('SELECT "auth_user"."id"')
    assert 'WHERE "auth_user"."id" = ?' in repeated["sql"]
    row = Rollup.objects.get(resolution=MINUTE, kind="request", name="/api/users/n-plus-one/")
    assert (row.n_plus_one, row.queries) == (1, 7)
    assert Rollup.objects.get(resolution=MINUTE, kind="request", name="/api/users/").n_plus_one == 0


def test_four_repeats_are_not_an_n_plus_one(client, settings, backend):
    settings.MONITORING_N_PLUS_ONE_THRESHOLD = 8
    client.get("/api/users/n-plus-one/")
    flush_and_fold()
    assert RequestSample.objects.count() == 0


def test_statements_are_counted_per_fingerprint(client, backend):
    for _ in range(3):
        client.get("/api/users/")
    flush_and_fold()
    statement = 'SELECT COUNT(*) AS "__count" FROM "auth_user"'
    fingerprint = QueryFingerprint.objects.get(statement=statement)
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    series = rollup_reads.load({"query"}, now - timedelta(hours=1), now + timedelta(minutes=5))
    value = series[("query", fingerprint.fingerprint, "", "")]
    assert value.count == 3 and value.sum_ms > 0
