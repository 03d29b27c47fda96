"""The one sketch: quantiles within the stated bound of numpy's, exact merges across
processes, a lossless encoding, and a grouped form that answers as the scalar one."""

import math
import multiprocessing
import struct
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib import sketch

# Up to floating-point rounding of a logarithm at a bucket's edge.
ROUNDING = 1e-9


def within_bound(estimate: float, exact: float) -> bool:
    bound = sketch.RELATIVE_ERROR * abs(exact) * (1 + ROUNDING) + sketch.MIN_VALUE
    return abs(estimate - exact) <= bound + abs(exact) * 1e-12


def encoded_sketch(values: list[float]) -> bytes:
    """Built and encoded in a worker process."""
    return sketch.encode(sketch.build(values))


@pytest.fixture(scope="module")
def workers():
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


# Values from anywhere in the sketch's range: zeros, below MIN_VALUE, tiny, ordinary, huge.
any_value = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=2 * sketch.MIN_VALUE),
    st.floats(min_value=1e-6, max_value=1.0),
    st.floats(min_value=1.0, max_value=1e6),
    st.floats(min_value=1e6, max_value=1e300),
)
value_lists = st.lists(any_value, min_size=1, max_size=200)
quantiles = st.one_of(st.sampled_from([0.0, 0.5, 0.75, 0.95, 0.99, 1.0]), st.floats(0.0, 1.0))


@st.composite
def distributions(draw):
    """A few hundred values of a named distribution, with some zeros mixed in or not."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 2000))
    kind = draw(st.sampled_from(["lognormal", "exponential", "uniform", "pareto", "constant"]))
    scale = 10.0 ** draw(st.integers(-5, 12))
    if kind == "lognormal":
        values = rng.lognormal(0.0, draw(st.floats(0.1, 3.0)), n)
    elif kind == "exponential":
        values = rng.exponential(1.0, n)
    elif kind == "uniform":
        values = rng.uniform(0.0, 1.0, n)
    elif kind == "pareto":
        values = rng.pareto(1.5, n)
    else:
        values = np.full(n, draw(st.floats(0.5, 2.0)))
    values = values * scale
    zeros = draw(st.floats(0.0, 0.9))
    values[rng.random(n) < zeros] = 0.0
    return values.tolist()


@given(distributions(), quantiles)
@settings(max_examples=300, deadline=None)
def test_a_quantile_is_within_the_bound_of_numpys(values, q):
    estimate = sketch.percentile(sketch.build(values), q)
    assert within_bound(estimate, float(np.quantile(values, q)))


@given(value_lists, quantiles)
@settings(max_examples=300, deadline=None)
def test_any_values_too_zeros_tiny_and_huge(values, q):
    estimate = sketch.percentile(sketch.build(values), q)
    assert within_bound(estimate, float(np.quantile(values, q)))


@given(value_lists, quantiles)
@settings(max_examples=200, deadline=None)
def test_the_quantile_is_numpys_linear_one_on_the_bucket_representatives(values, q):
    representatives = sketch.bucket_values(sketch.bucket_indexes(values))
    expected = float(np.quantile(representatives, q))
    assert sketch.percentile(sketch.build(values), q) == pytest.approx(expected, rel=1e-12)


def test_known_numbers():
    # rank 0.75 · 99 = 74.25 falls between two 5000s
    assert sketch.percentile(sketch.build([100.0] * 74 + [5000.0] * 26), 0.75) == pytest.approx(
        5000, rel=sketch.RELATIVE_ERROR
    )
    # rank 0.75 · 3 = 2.25: a quarter of the way from 3000 to 5000
    assert sketch.percentile(sketch.build([1000.0, 2000.0, 3000.0, 5000.0]), 0.75) == (
        pytest.approx(3500, rel=sketch.RELATIVE_ERROR)
    )
    assert sketch.percentiles(sketch.build([0.0, 0.0, 0.0, 0.3]), (0.5, 1.0)) == [
        0.0,
        pytest.approx(0.3, rel=sketch.RELATIVE_ERROR),
    ]


def test_an_empty_sketch_has_no_quantile():
    assert sketch.percentile({}, 0.95) is None
    assert sketch.percentiles({}, (0.5, 0.9)) == [None, None]
    assert sketch.grouped_percentile(0, np.zeros((2, 0)), 0.5) == [None, None]


@given(st.lists(st.lists(any_value, max_size=100), min_size=1, max_size=6), quantiles)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sketches_built_in_other_processes_merge_into_the_sketch_of_the_union(workers, parts, q):
    blobs = list(workers.map(encoded_sketch, parts))
    union = [x for part in parts for x in part]
    expected = sketch.build(union)
    assert sketch.merge_encoded(blobs) == expected
    assert sketch.merge(sketch.decode(blob) for blob in blobs) == expected
    assert sketch.percentile(sketch.merge_encoded(blobs), q) == sketch.percentile(expected, q)
    if union:
        assert within_bound(sketch.percentile(expected, q), float(np.quantile(union, q)))


# Every index a finite value can have: ZERO_INDEX up to past int16 (1e308 is 35,843).
histograms = st.dictionaries(
    st.integers(sketch.ZERO_INDEX, 36_000),
    st.one_of(st.integers(1, 2**32 - 1), st.integers(1, 2**50)),
    max_size=300,
)


@given(histograms)
@settings(max_examples=200, deadline=None)
def test_an_encoded_sketch_reads_back_and_adds_up(histogram):
    data = sketch.encode(histogram)
    assert sketch.decode(data) == histogram
    assert sketch.decode(memoryview(data)) == histogram  # as PostgreSQL hands bytea back
    assert sketch.sum_stored([sketch.stored(data)] * 2) == {k: 2 * v for k, v in histogram.items()}


def test_the_encoding_is_compact_unless_it_cannot_be():
    assert sketch.encode({}) == b""
    assert len(sketch.encode({5: 7, 9: 1})) == 1 + 2 * 6
    wide = {sketch.ZERO_INDEX: 1, 5: 2**40, 40_000: 3}
    assert sketch.encode(wide)[0] == 2
    assert len(sketch.encode(wide)) == 1 + 3 * 16
    assert sketch.decode(sketch.encode(wide)) == wide


def test_data_stored_before_the_zero_bucket_reads_back_unchanged():
    # As monitoring wrote it: kind 1, then (int16 index, uint32 count) records.
    old = b"\x01" + struct.pack("<hIhI", -348, 3, 120, 9)
    assert sketch.decode(old) == {-348: 3, 120: 9}
    assert sketch.bucket_value(-348) == pytest.approx(0.001, rel=sketch.RELATIVE_ERROR)
    assert sketch.ZERO_INDEX < -348


def test_the_zero_bucket_holds_zeros_and_what_is_too_small_to_tell_from_zero():
    built = sketch.build([0.0, -1.0, sketch.MIN_VALUE, 1e-9, 2 * sketch.MIN_VALUE])
    assert built[sketch.ZERO_INDEX] == 4
    assert sketch.bucket_value(sketch.ZERO_INDEX) == 0.0
    assert sketch.bucket_index(2 * sketch.MIN_VALUE) > sketch.ZERO_INDEX


@given(
    st.lists(st.dictionaries(st.integers(-698, 900), st.integers(1, 10**6), max_size=40),
             min_size=1, max_size=12),
    st.data(),
    quantiles,
)  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_the_grouped_form_answers_as_the_scalar_form(sketches, data, q):
    n_groups = data.draw(st.integers(1, 4))
    group_of = np.array(
        data.draw(
            st.lists(st.integers(0, n_groups - 1), min_size=len(sketches), max_size=len(sketches))
        )  # fmt: skip
    )
    lengths, index, count = sketch.stored_many([sketch.encode(s) for s in sketches])
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    # Every other sketch only, as a window picks some rows.
    picked = np.arange(0, len(sketches), 2)
    positions, owners = sketch.run_records(offsets[picked], offsets[picked + 1], group_of[picked])
    base, dense = sketch.group_sums(owners, index[positions], count[positions], n_groups)
    grouped = sketch.grouped_percentile(base, dense, q)
    expected = [
        sketch.percentile(sketch.merge(sketches[i] for i in picked if group_of[i] == g), q)
        for g in range(n_groups)
    ]
    assert grouped == expected


@given(value_lists, st.lists(st.floats(1e-3, 1e7), min_size=1, max_size=8, unique=True))
@settings(max_examples=200, deadline=None)
def test_counts_at_most_a_bound_are_exact_but_within_the_bound_of_it(values, bounds):
    bounds = sorted(bounds)
    found = sketch.count_at_most(sketch.build(values), bounds)
    slack = 1 + sketch.RELATIVE_ERROR * (1 + ROUNDING)
    for bound, count in zip(bounds, found, strict=True):
        surely = sum(v <= bound / slack for v in values)
        maybe = sum(v <= bound * slack for v in values)
        assert surely <= count <= maybe


@given(value_lists)
@settings(max_examples=100, deadline=None)
def test_points_draw_every_value_in_order(values):
    points = sketch.points(sketch.build(values))
    assert sum(n for _, n in points) == len(values)
    assert [v for v, _ in points] == sorted(v for v, _ in points)
    assert all(math.isfinite(v) for v, _ in points)
