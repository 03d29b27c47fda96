"""Percentiles of requests recorded by two processes, read from the rollups, agree
with numpy's over the same latencies within lib.sketch's bound."""

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from lib import sketch
from monitoring import rollup_reads
from monitoring.recorder import REQUEST
from tests.monitoring.conftest import flush_and_fold
from tests.monitoring.recording_driver import ROUTE, lognormal_latencies
from tests.support import run_python, subprocess_env

RECORD = """
from tests.monitoring.recording_driver import lognormal_latencies, record_through_middleware
record_through_middleware(lognormal_latencies({n}, seed={seed}), flush_every=5000)
"""


@pytest.mark.redis
@pytest.mark.django_db
def test_two_processes_add_up_exactly_and_percentiles_match_numpy():
    n = 20_000
    env = subprocess_env()
    for seed in (1, 2):
        result = run_python(RECORD.format(n=n, seed=seed), env, timeout=120)
        assert result.returncode == 0, result.stderr
    flush_and_fold(now=time.time() + 180)
    now = datetime.now(UTC)
    series = rollup_reads.load({REQUEST}, now - timedelta(hours=1), now + timedelta(minutes=5))
    value = series[(REQUEST, ROUTE, "GET", "2xx")]
    exact = np.concatenate([lognormal_latencies(n, seed=1), lognormal_latencies(n, seed=2)])
    assert value.count == 2 * n
    assert value.sum_ms == pytest.approx(exact.sum(), rel=1e-6)
    assert value.max_ms == pytest.approx(exact.max(), abs=0.001)
    for q in (0.5, 0.95, 0.99):
        estimate = sketch.percentile(value.buckets, q)
        assert estimate == pytest.approx(np.quantile(exact, q), rel=sketch.RELATIVE_ERROR)
