from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alerts.states import FIRING, INACTIVE, PENDING, RESOLVED, Condition, Track, replay, step

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def minutes(values):
    return [(T0 + timedelta(minutes=i), v) for i, v in enumerate(values)]


def path(transitions):
    return [(t.previous, t.state) for t in transitions]


def test_it_fires_at_once_without_a_for_duration():
    track, taken = step(Condition("gt", 10), Track(), 11, T0)
    assert track == Track(FIRING, T0)
    assert path(taken) == [(INACTIVE, FIRING)]


def test_for_holds_it_pending_until_the_duration_has_passed():
    condition = Condition("gt", 10, for_duration=timedelta(minutes=3))
    _, taken = replay(condition, minutes([11, 12, 13, 14]))
    assert path(taken) == [(INACTIVE, PENDING), (PENDING, FIRING)]
    assert taken[1].at == T0 + timedelta(minutes=3)


def test_a_pending_alert_clears_when_the_condition_stops_holding():
    condition = Condition("gt", 10, for_duration=timedelta(minutes=5))
    track, taken = replay(condition, minutes([11, 12, 9]))
    assert path(taken) == [(INACTIVE, PENDING), (PENDING, INACTIVE)]
    assert track == Track()


def test_no_data_neither_fires_nor_resolves():
    condition = Condition("gt", 10)
    firing = Track(FIRING, T0)
    assert step(condition, firing, None, T0 + timedelta(minutes=1)) == (firing, [])
    assert step(condition, Track(), None, T0) == (Track(), [])


def test_it_resolves_only_past_the_resolve_threshold():
    condition = Condition("gt", 100, resolve_threshold=80)
    _, taken = replay(condition, minutes([120, 95, 101, 90, 81, 80]))
    assert path(taken) == [(INACTIVE, FIRING), (FIRING, RESOLVED)]
    assert taken[1].value == 80


def test_operators_below_the_threshold_work_the_same_way():
    condition = Condition("lt", 85, resolve_threshold=87)
    _, taken = replay(condition, minutes([90, 84, 86, 88]))
    assert path(taken) == [(INACTIVE, FIRING), (FIRING, RESOLVED)]
    assert [t.value for t in taken] == [84, 88]


def test_greater_or_equal_fires_on_the_threshold_itself():
    assert path(step(Condition("ge", 10), Track(), 10, T0)[1]) == [(INACTIVE, FIRING)]
    assert step(Condition("gt", 10), Track(), 10, T0)[1] == []


@given(st.lists(st.floats(min_value=81, max_value=100), min_size=1, max_size=60))
def test_values_between_the_thresholds_never_resolve_a_firing_alert(values):
    condition = Condition("gt", 100, resolve_threshold=80)
    track, taken = replay(condition, minutes([150, *values]))
    assert path(taken) == [(INACTIVE, FIRING)]
    assert track.state == FIRING


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=200)), max_size=80))
def test_every_incident_fires_once_and_resolves_once(values):
    condition = Condition("gt", 100, resolve_threshold=80, for_duration=timedelta(minutes=2))
    _, taken = replay(condition, minutes(values))
    fired = [t for t in taken if t.state == FIRING]
    resolved = [t for t in taken if t.state == RESOLVED]
    # Firing and resolving alternate, starting with a firing.
    order = [t.state for t in taken if t.state in (FIRING, RESOLVED)]
    assert order == [FIRING, RESOLVED] * len(resolved) + [FIRING] * (len(fired) - len(resolved))
