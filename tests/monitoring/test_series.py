"""Every figure of the series schema reaches every place sums go: tested figure by figure
over `series.FIGURES`, so a figure added there is checked here without another edit."""

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from lib import sketch
from monitoring import alert_rollup_windows, fold, rollup_reads, series, storage
from monitoring.live_store import live_store
from monitoring.models import MINUTE, LiveAggregate, Rollup
from monitoring.series import COUNTER, FIGURES, HISTOGRAM, PEAK, REQUEST, Series


def sample(seed: int) -> Series:
    """A series with a different, non-zero value for every figure."""
    value = Series()
    for position, figure in enumerate(FIGURES, start=1):
        if figure.kind == HISTOGRAM:
            amount = {position * 10 + seed: seed + 1, -(position + seed): 2 * seed + 3}
        elif figure.ms:
            amount = round(position * 1.25 + seed * 0.5 + 0.001, 3)
        else:
            amount = position + 7 * seed
        setattr(value, figure.name, amount)
    return value


def figures(value) -> dict:
    """Every figure of a series or a row, histograms decoded to {int: count}."""
    out = {}
    for figure in FIGURES:
        found = getattr(value, figure.name)
        if figure.kind == HISTOGRAM:
            found = sketch.decode(found) if isinstance(found, bytes | memoryview) else found
            found = {int(k): v for k, v in found.items()}
        out[figure.name] = found
    return out


def merged(a: Series, b: Series) -> dict:
    """Two series' figures combined as each kind says, recomputed here."""
    out = {}
    for figure in FIGURES:
        x, y = getattr(a, figure.name), getattr(b, figure.name)
        if figure.kind == COUNTER:
            out[figure.name] = x + y
        elif figure.kind == PEAK:
            out[figure.name] = max(x, y)
        else:
            out[figure.name] = {k: x.get(k, 0) + y.get(k, 0) for k in {*x, *y}}
    return out


def assert_same(found: dict, expected: dict) -> None:
    assert set(found) == set(expected) == set(series.NAMES)
    for name, value in expected.items():
        assert found[name] == pytest.approx(value), name


def test_every_figure_is_a_column_of_the_sums_models():
    for model in (Rollup, LiveAggregate):
        columns = {field.name: field for field in model._meta.get_fields()}
        for figure in FIGURES:
            assert figure.name in columns, (model, figure.name)
            internal = columns[figure.name].get_internal_type()
            if figure.kind == HISTOGRAM:
                assert internal == "BinaryField"
            else:
                assert internal == ("FloatField" if figure.ms else "BigIntegerField")


def test_merge_adds_counters_keeps_peaks_and_adds_histograms():
    a, b = sample(1), sample(2)
    expected = merged(a, b)
    a.merge(b)
    assert_same(figures(a), expected)
    assert set(Series.__slots__) == set(series.NAMES)


def test_redis_codes_round_trip_every_figure():
    value = sample(3)
    increments, maxima = series.coded(value)
    codes = [code for code, _ in increments + maxima]
    assert len(codes) == len(set(codes))
    back = Series()
    for code, amount in increments + maxima:
        assert isinstance(amount, int)
        series.add_coded(back, code, amount)
    assert_same(figures(back), figures(value))


def test_rows_round_trip_every_figure_and_merge_into_them():
    value, more = sample(4), sample(5)
    row = Rollup(**series.row_values(value))
    assert_same(figures(series.from_row(row)), figures(value))
    series.merge_into_row(row, more)
    assert_same(figures(row), merged(value, more))


@pytest.mark.django_db
def test_every_figure_goes_through_the_live_store_the_fold_and_the_readers(recorder, backend):
    minute = int(time.time() // 60) * 60 - 120
    first, second = sample(6), sample(7)
    expected = merged(first, second)
    series_key = (REQUEST, "/figures/", "GET", "2xx")
    for value in (first, second):  # two flushes of the same minute, summed by the store
        storage.store({(minute, *series_key): value}, [])

    live = live_store().live_series({REQUEST}, minute, minute + 60)
    assert_same(figures(live[(minute, *series_key)]), expected)
    totals = live_store().read_totals(storage.HOST)[series_key]
    for figure in FIGURES:
        if figure.metrics:
            assert totals[figure.code] == round(expected[figure.name] * (1000 if figure.ms else 1))

    assert fold.fold(now=time.time() + 180) >= 1
    row = Rollup.objects.get(resolution=MINUTE, name="/figures/")
    assert_same(figures(row), expected)

    start = datetime.fromtimestamp(minute, UTC)
    loaded = rollup_reads.load({REQUEST}, start, start + timedelta(minutes=1))[series_key]
    assert_same(figures(loaded), expected)

    oldest = minute - 3600
    rows = alert_rollup_windows.read(
        {REQUEST}, alert_rollup_windows.spans(minute, minute + 60, oldest), oldest
    )
    chosen = rows.select({1: "/figures/"})
    (sums,) = rows.sums(chosen, np.zeros(len(chosen), dtype=int), 1, minute, minute + 60)
    for name in series.SCALARS:
        assert getattr(sums, name) == pytest.approx(expected[name]), name
