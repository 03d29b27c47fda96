import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rum import sketch

values = st.lists(
    st.one_of(st.floats(min_value=0.001, max_value=600_000), st.just(0.0)), min_size=1
)


@given(values, st.sampled_from([0.5, 0.75, 0.9, 0.99]))
def test_quantiles_are_within_one_percent_of_the_exact_order_statistic(data, q):
    exact = float(np.percentile(data, q * 100, method="lower"))
    estimate = sketch.quantile(sketch.build(data), q)
    if exact < sketch.MIN_VALUE:
        assert estimate == 0.0
    else:
        assert math.isclose(estimate, exact, rel_tol=sketch.RELATIVE_ACCURACY)


@given(values, values)
def test_merged_histograms_answer_as_one_built_from_all_values(a, b):
    merged = sketch.merge([sketch.build(a), sketch.build(b)])
    assert merged == sketch.build(a + b)
    assert sketch.quantile(merged, 0.75) == sketch.quantile(sketch.build(a + b), 0.75)


def test_an_empty_histogram_has_no_quantile():
    assert sketch.quantile({}, 0.75) is None


def test_p75_of_a_known_set():
    data = [100.0] * 74 + [5000.0] * 26  # rank 74.25 falls on a 5000
    assert math.isclose(sketch.quantile(sketch.build(data), 0.75), 5000, rel_tol=0.01)
