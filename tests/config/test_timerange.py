from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from config.timerange import TimeRange, TimeRangeError, parse_time_range

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "span"),
    [
        ("1h", timedelta(hours=1)),
        ("24h", timedelta(days=1)),
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
    ],
)
def test_presets_end_now(key, span):
    found = parse_time_range({"range": key}, now=NOW)
    assert (found.start, found.end) == (NOW - span, NOW)


def test_the_default_is_the_last_24_hours():
    assert parse_time_range({}, now=NOW).key == "24h"


def test_a_custom_range_is_read_in_the_configured_time_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    found = parse_time_range(
        {"range": "custom", "start": "2026-01-10T08:00", "end": "2026-01-10T10:30"}, now=NOW
    )
    assert found.start == datetime(2026, 1, 10, 7, 0, tzinfo=UTC)
    assert found.duration == timedelta(hours=2, minutes=30)
    assert found.params() == {
        "range": "custom",
        "start": "2026-01-10T08:00",
        "end": "2026-01-10T10:30",
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"range": "2w"}, "Unknown range"),
        ({"range": "custom", "end": "2026-01-01T00:00"}, "needs a start"),
        ({"range": "custom", "start": "yesterday", "end": "2026-01-01T00:00"}, "not a date"),
        (
            {"range": "custom", "start": "2026-01-02T00:00", "end": "2026-01-01T00:00"},
            "before its end",
        ),
        (
            {"range": "custom", "start": "2020-01-01T00:00", "end": "2026-01-01T00:00"},
            "at most 400 days",
        ),
        ({"range": "custom", "start": "2026-02-30T00:00", "end": "2026-03-01T00:00"}, "not a date"),
        (
            {"range": "custom", "start": "9999-12-30T00:00", "end": "9999-12-31T23:59"},
            "between 1970-01-01 and",
        ),
        (
            {"range": "custom", "start": "0001-01-01T00:00", "end": "0001-01-02T00:00"},
            "between 1970-01-01 and",
        ),
        (
            {"range": "custom", "start": "1969-12-31T00:00", "end": "1970-01-02T00:00"},
            "between 1970-01-01 and",
        ),
    ],
)
def test_bad_ranges_say_what_is_wrong(params, message):
    with pytest.raises(TimeRangeError, match=message):
        parse_time_range(params, now=NOW)


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (timedelta(hours=1), 60),
        (timedelta(days=1), 300),
        (timedelta(days=7), 3600),
        (timedelta(days=30), 6 * 3600),
    ],
)
def test_chart_steps_keep_charts_readable(span, step):
    assert TimeRange("x", NOW - span, NOW).step_seconds == step


@given(st.dictionaries(st.sampled_from(["range", "start", "end"]), st.text(max_size=40)))
def test_any_input_parses_or_fails_with_a_reason(params):
    try:
        found = parse_time_range(params, now=NOW)
    except TimeRangeError as exc:
        assert str(exc)
    else:
        assert found.start < found.end


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Pacific/Kiritimati"])
@given(
    # Naive, as typed in the form; up to 4 days before the largest datetime (the span).
    st.datetimes(max_value=datetime(9999, 12, 27)),  # noqa: DTZ001
    st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=3)),
)
def test_any_moment_in_any_zone_parses_or_fails_with_a_reason(zone, start, span):
    end = start + span
    params = {"range": "custom", "start": start.isoformat()[:16], "end": end.isoformat()[:16]}
    try:
        with override_settings(TIME_ZONE=zone):
            found = parse_time_range(params, now=NOW)
    except TimeRangeError as exc:
        assert str(exc)
    else:
        assert found.label and found.params()["range"] == "custom"
        assert found.step_seconds
