"""Any window is read from the fewest rows and adds up to exactly what was recorded."""

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib import sketch
from monitoring import rollup_reads
from monitoring.models import DAY, HOUR, MINUTE
from monitoring.recorder import REQUEST
from tests.monitoring.conftest import flush_and_fold

T0 = 1_780_000_000 // DAY * DAY  # a midnight, UTC
moments = st.integers(T0, T0 + 40 * DAY)


def check_tiling(segments, start, end):
    position = start
    for number, (resolution, a, b) in enumerate(segments, 1):
        assert a == position and a < b
        assert a % resolution == 0
        assert b % resolution == 0 or (number == len(segments) and b == end)
        position = b
    return position


@given(moments, moments)
def test_a_closed_window_is_tiled_exactly(a, b):
    start, end = sorted((a // 60 * 60, b // 60 * 60))
    segments = rollup_reads.cover(start, end, oldest_minute=0)
    assert check_tiling(segments, start, end) == end or start == end
    assert sum(1 for r, _, _ in segments if r == MINUTE) <= 2


@given(moments, moments)
def test_an_open_window_reads_the_current_hour_and_day_rows(a, b):
    start, end = min(a, b) // 60 * 60, max(a, b) + 30
    segments = rollup_reads.cover(start, end, oldest_minute=0, open_end=True)
    last = check_tiling(segments, start, end)
    assert last >= end
    resolution = segments[-1][0]
    # Past `end` only the rest of the row holding `end`: nothing recorded there yet.
    assert last - end < resolution


@given(moments)
def test_a_window_older_than_the_minute_rows_starts_on_the_hour(a):
    oldest = T0 + 20 * DAY
    segments = rollup_reads.cover(a, T0 + 30 * DAY, oldest_minute=oldest)
    if a < oldest:
        assert segments[0][1] == a // HOUR * HOUR


@pytest.mark.django_db
def test_loads_add_up_to_what_was_recorded(recorder, backend):
    rng = random.Random(4)
    now = time.time()
    recorded = []  # (epoch, latency)
    for _ in range(400):
        at = now - rng.uniform(60, 3 * 86400)
        latency = rng.lognormvariate(3, 1)
        recorded.append((at, latency))
        recorder.record(REQUEST, "/a/", "GET", "2xx", latency, False, at=at)
    for _ in range(5):  # still open or not yet folded: read live
        recorded.append((now - 1, 5.0))
        recorder.record(REQUEST, "/a/", "GET", "2xx", 5.0, False, at=now - 1)
    flush_and_fold(now=now - 120)
    for hours in (1, 5, 24, 30, 72):
        start = datetime.fromtimestamp(now - hours * 3600, UTC)
        end = datetime.fromtimestamp(now + 1, UTC)
        value = rollup_reads.load({REQUEST}, start, end)[(REQUEST, "/a/", "GET", "2xx")]
        first_minute = (now - hours * 3600) // 60 * 60
        expected = [lat for at, lat in recorded if at // 60 * 60 >= first_minute]
        assert value.count == len(expected), hours
        # Sums travel in whole microseconds.
        assert value.sum_ms == pytest.approx(sum(expected), abs=0.001 * len(expected))
        assert value.max_ms == pytest.approx(max(expected), abs=0.001)
        exact = sorted(expected)[len(expected) // 2]
        assert sketch.percentile(value.buckets, 0.5) == pytest.approx(exact, rel=0.05)
    # A closed window in the past, ending mid-hour.
    start = datetime.fromtimestamp(now - 50 * 3600, UTC)
    end = start + timedelta(hours=20, minutes=17)
    value = rollup_reads.load({REQUEST}, start, end)[(REQUEST, "/a/", "GET", "2xx")]
    low, high = start.timestamp() // 60 * 60, end.timestamp()
    assert value.count == sum(1 for at, _ in recorded if low <= at // 60 * 60 < high)
