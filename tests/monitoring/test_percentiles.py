"""Percentiles from summed buckets agree with an exact recomputation to 1 %."""

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import histogram, rollups
from monitoring.recorder import REQUEST
from tests.monitoring.conftest import flush_and_fold
from tests.monitoring.recording_driver import ROUTE, lognormal_latencies
from tests.support import run_python, subprocess_env

values = st.lists(st.floats(min_value=0.01, max_value=1e6), min_size=1, max_size=300)
quantiles = st.floats(min_value=0.0, max_value=1.0)


@given(values, quantiles)
@settings(max_examples=300, deadline=None)
def test_a_percentile_is_within_one_percent_of_the_exact_one(latencies, q):
    buckets = {}
    for latency in latencies:
        index = histogram.bucket_index(latency)
        buckets[index] = buckets.get(index, 0) + 1
    exact = float(np.percentile(latencies, q * 100))
    assert histogram.percentile(buckets, q) == pytest.approx(exact, rel=histogram.RELATIVE_ERROR)


@given(st.lists(values, min_size=1, max_size=5), quantiles)
@settings(max_examples=100, deadline=None)
def test_merging_histograms_is_the_histogram_of_the_union(parts, q):
    def hist(xs):
        out = {}
        for x in xs:
            out[histogram.bucket_index(x)] = out.get(histogram.bucket_index(x), 0) + 1
        return out

    union = [x for part in parts for x in part]
    assert histogram.merge(hist(p) for p in parts) == hist(union)


def test_an_empty_histogram_has_no_percentile():
    assert histogram.percentile({}, 0.95) is None


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
    series = rollups.load({REQUEST}, now - timedelta(hours=1), now + timedelta(minutes=5))
    value = series[(REQUEST, ROUTE, "GET", "2xx")]
    exact = np.concatenate([lognormal_latencies(n, seed=1), lognormal_latencies(n, seed=2)])
    assert value.count == 2 * n
    assert value.sum_ms == pytest.approx(exact.sum(), rel=1e-6)
    assert value.max_ms == pytest.approx(exact.max(), abs=0.001)
    for q in (0.5, 0.95, 0.99):
        estimate = histogram.percentile(value.buckets, q)
        assert estimate == pytest.approx(np.percentile(exact, q * 100), rel=0.01)


@given(st.dictionaries(st.integers(-400, 1500), st.integers(1, 10**12), max_size=400))
def test_stored_histograms_read_back_and_add_up(buckets):
    assert histogram.decode(histogram.encode(buckets)) == buckets
    doubled = histogram.sum_stored([histogram.stored(histogram.encode(buckets))] * 2)
    assert doubled == {k: 2 * v for k, v in buckets.items()}


def test_huge_counts_are_stored_wide():
    buckets = {-349: 1, 5: 2**40, 40_000: 3}
    assert histogram.decode(histogram.encode(buckets)) == buckets
    assert len(histogram.encode({5: 7, 9: 1})) == 1 + 2 * 6
