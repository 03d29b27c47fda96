"""The fast beacon validation answers exactly as BeaconSerializer does, rows included.

Valid beacons are generated as the script sends them, then altered: values swapped
for edge cases of their field (lengths, ranges, choices, types) or odd ones, keys
dropped or added. Whenever the fast path accepts, the serializer must accept the
same and give the very same data; whatever the fast path leaves, the serializer
answers.
"""

import copy
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.fields import empty

from rum import beacon as schema
from rum import validation, vitals
from rum.beacon import CONNECTIONS, NAVIGATION_TYPES, BeaconSerializer, event_rows
from rum.validation import OPTIONAL, REQUIRED, Unsure, fast_validate, validate_beacon
from tests.bench.bench_rum import beacon_body
from tests.rum.conftest import CHROME_DESKTOP, beacon

NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Values a careless or hostile client sends in place of any field.
ODD = st.sampled_from(
    [None, "", "   ", " padded ", "a\x00b", "\ud800", "a b", "é", "12", "1.0", "true", "on",
     True, False, 0, 1, -1, 1.5, 390.0, 2**60, 10**400, float("nan"), float("inf"), -0.0,
     [], [1], {}, {"a": 1}]
)  # fmt: skip

# --- beacons as the script sends them -----------------------------------------------------


def text(max_size, blank=False):
    """A CharField's value: trimmed, within its length."""
    letters = st.characters(codec="utf-8", exclude_characters="\x00")
    return st.text(letters, min_size=0 if blank else 1, max_size=max_size).filter(
        lambda s: s == s.strip() and (blank or s)
    )


IDENT = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)


def number(low, high):
    return st.one_of(
        st.floats(low, high, allow_nan=False),
        st.integers(max(int(low), -(10**6)), min(int(high), 10**6)),
    )


ATTRIBUTION = st.dictionaries(
    st.text(max_size=40),
    st.one_of(
        st.text(max_size=1005), st.floats(-1e9, 1e9), st.integers(-(10**9), 10**9),
        st.booleans(), st.none(),
    ),
    max_size=12,
)  # fmt: skip


def obj(required, optional):
    return st.fixed_dictionaries(required, optional=optional)


def kind(name, required, optional):
    common = {
        "page_view": IDENT,
        "url": text(2048),
        "navigation_type": st.sampled_from(NAVIGATION_TYPES),
    }
    return obj({"id": IDENT, "type": st.just(name), **required}, {**common, **optional})


def vital(name):
    limit = vitals.VITALS[name].maximum
    return kind(
        "vital",
        {"name": st.just(name), "value": number(0, limit)},
        {"delta": number(-limit, limit), "rating": st.sampled_from(vitals.RATINGS),
         "metric_id": text(64), "attribution": ATTRIBUTION},
    )  # fmt: skip


EVENT = st.one_of(
    kind("pageview", {}, {"title": text(300, blank=True), "referrer": text(2048, blank=True)}),
    *[vital(name) for name in vitals.NAMES],
    kind("error", {"message": text(1000)},
         {"kind": st.sampled_from(["error", "unhandledrejection"]),
          "source": text(1000, blank=True), "line": st.integers(0, 10_000_000),
          "column": st.integers(0, 10_000_000), "stack": text(8000, blank=True)}),
    kind("custom", {"name": text(100)},
         {"value": number(-schema.MAX_CUSTOM_VALUE, schema.MAX_CUSTOM_VALUE),
          "attrs": ATTRIBUTION}),
)  # fmt: skip
BEACON = obj(
    {"key": text(64), "session": IDENT, "page_view": IDENT, "url": text(2048),
     "events": st.lists(EVENT, min_size=1, max_size=6)},
    {"consent": st.booleans(),
     "device": obj({}, {"viewport_width": st.integers(0, 100_000),
                        "viewport_height": st.integers(0, 100_000),
                        "memory": number(0, 4096), "connection": st.sampled_from(CONNECTIONS)}),
     "navigation": obj({}, {"type": st.sampled_from(NAVIGATION_TYPES),
                            "prerendered": st.booleans(), "restored": st.booleans()}),
     "server_timing": st.lists(
         obj({"name": text(64), "duration": number(0, schema.MAX_MS)},
             {"description": text(100, blank=True)}),
         max_size=3)},
)  # fmt: skip

# --- edge cases of each field --------------------------------------------------------------

# A valid item, repeated to make lists around their length limits.
LIST_ITEMS = {
    "events": {"id": "e1", "type": "pageview"},
    "server_timing": {"name": "app", "duration": 12.5},
}


def around(low, high):
    """Numbers at and just past a range's ends (±1e300 when open)."""
    low = -1e300 if low is None else low
    high = 1e300 if high is None else high
    return st.one_of(
        st.integers(int(low) - 2, int(low) + 2),
        st.integers(int(high) - 2, int(high) + 2),
        st.floats(low - 1, low + 1),
        st.floats(high - 1, high + 1),
    )


def values_for(field, name):
    """Values worth trying on one serializer field: valid ones, edges, and odd ones."""
    if isinstance(field, serializers.ChoiceField):
        options = st.sampled_from(list(field.choices))
        variants = options.map(str.upper) | options.map(lambda s: f" {s}") | options.map(len)
        return st.one_of(options, variants, ODD)
    if isinstance(field, serializers.CharField):
        n = field.max_length
        bits = st.lists(st.sampled_from(["a", "Z", "9", "-", ":", " ", "\t", "é", "\x00", "/"]))
        long = st.builds(lambda k, c: c * (n + k), st.integers(-1, 1), st.sampled_from(["a", "é"]))
        core = st.one_of(bits.map("".join), long)
        padded = st.builds(lambda v, p: p + v + p, core, st.sampled_from(["", " ", "\n"]))
        return st.one_of(padded, st.text(), ODD)
    if isinstance(field, serializers.BooleanField):
        return st.one_of(st.booleans(), st.sampled_from(["yes", "True", 1.0, 0.0, 2]), ODD)
    if isinstance(field, serializers.IntegerField | serializers.FloatField):
        return st.one_of(
            around(field.min_value, field.max_value), st.integers(), st.floats(), ODD,
            st.integers(-5, 5).map(str),
        )  # fmt: skip
    if isinstance(field, schema.AttributionField):
        key = st.builds(lambda k: "k" * k, st.integers(38, 42)) | st.text(max_size=3)
        item = st.one_of(st.text(max_size=3), st.text(min_size=999, max_size=1001), st.floats(),
                         st.integers(), around(-1e9, 1e9), ODD)  # fmt: skip
        sizes = st.dictionaries(st.text(max_size=3), st.text(max_size=2), min_size=11, max_size=13)
        return st.one_of(st.dictionaries(key, item, max_size=4), sizes, ODD)
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        limit = field.max_length
        sizes = st.sampled_from([0, 1, 2, limit, limit + 1])
        lists = sizes.map(lambda k: [copy.deepcopy(LIST_ITEMS[name]) for _ in range(k)])
        return st.one_of(lists, st.lists(ODD, max_size=2), ODD)
    if isinstance(field, serializers.Serializer):
        children = {n: values_for(f, n) for n, f in field.fields.items()}
        return st.one_of(st.fixed_dictionaries({}, optional=children), ODD)
    raise AssertionError(f"no values for {type(field).__name__} {name}")


@st.composite
def altered(draw, valid, serializer_of):
    """A valid object with up to three of its fields set to edge cases, or dropped."""
    data = draw(valid)
    fields = serializer_of(data)().fields
    for name in draw(st.lists(st.sampled_from(list(fields)), max_size=3, unique=True)):
        if draw(st.booleans()):
            data[name] = draw(values_for(fields[name], name))
        else:
            data.pop(name, None)
    return data


def paths(value, at=()):
    yield at
    if isinstance(value, dict | list):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            yield from paths(child, (*at, key))


def near(value):
    """Values close to a valid one that the serializer may take or refuse."""
    if isinstance(value, bool):
        return st.sampled_from([int(value), str(value).lower(), None])
    if isinstance(value, str):
        return st.sampled_from(
            [f" {value} ", value + "\t", value * 300, value + "\x00", value.upper(), value[:-1]]
        )
    if isinstance(value, int):
        return st.sampled_from([float(value), str(value), value + 1, -value - 1, value * 10**6])
    if isinstance(value, float):
        return st.sampled_from([int(value), str(value), -value, value * 1e9, value + 1])
    return st.sampled_from([[], {}, None])


@st.composite
def altered_deep(draw):
    """A valid beacon with up to three values anywhere in it changed, dropped or added."""
    data = draw(BEACON)
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(list(paths(data))))
        if not where:
            return draw(ODD)
        *parent_path, key = where
        parent = data
        for step in parent_path:
            parent = parent[step]
        action = draw(st.sampled_from(["near", "odd", "drop", "add"]))
        if action == "drop" and isinstance(parent, dict):
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "type", "value", "name", "id"]))] = draw(ODD)
        else:
            parent[key] = draw(near(parent[key]) if action == "near" else ODD)
    return data


ALTERED_BEACONS = st.one_of(altered(BEACON, lambda _: BeaconSerializer), altered_deep())

# --- the properties -----------------------------------------------------------------------


def same(a, b) -> bool:
    """Equal, down to key order and int/float (as they would be queued)."""
    return a == b and json.dumps(a) == json.dumps(b)


def by_serializer(data):
    try:
        return BeaconSerializer().run_validation(copy.deepcopy(data))
    except serializers.ValidationError:
        return None


def rows(validated):
    return event_rows(copy.deepcopy(validated), 7, CHROME_DESKTOP, "testserver", NOW)


TABLES = [
    ("beacon", validation.BEACON, BeaconSerializer),
    ("device", validation.DEVICE, schema.DeviceSerializer),
    ("navigation", validation.NAVIGATION, schema.NavigationSerializer),
    ("server_timing", validation.SERVER_TIMING, schema.ServerTimingSerializer),
    *[(kind, validation.EVENTS[kind], cls) for kind, cls in schema.EVENT_SERIALIZERS.items()],
]


@pytest.mark.parametrize(("name", "table", "serializer"), TABLES, ids=[t[0] for t in TABLES])
def test_each_table_declares_its_serializers_fields_with_their_defaults(name, table, serializer):
    fields = serializer().fields
    assert [entry[0] for entry in table] == list(fields)
    for field_name, _, default in table:
        field = fields[field_name]
        if default is REQUIRED:
            assert field.required, field_name
        elif default is OPTIONAL:
            assert not field.required and field.default is empty, field_name
        else:
            assert not field.required and field.default == default, field_name


FIELDS = [
    (f"{name}.{field_name}", check, field_name, serializer)
    for name, table, serializer in TABLES
    for field_name, check, _ in table
]


@pytest.mark.parametrize(
    ("where", "check", "field_name", "serializer"), FIELDS, ids=[f[0] for f in FIELDS]
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_field_check_takes_only_what_its_field_takes_and_as_it_does(
    where, check, field_name, serializer, data
):
    field = serializer().fields[field_name]
    value = data.draw(values_for(field, field_name))
    try:
        fast = check(copy.deepcopy(value))
    except Unsure:
        return
    assert same(fast, field.run_validation(copy.deepcopy(value)))


@SETTINGS
@given(event=altered(EVENT, lambda event: schema.EVENT_SERIALIZERS[event["type"]]))
def test_an_event_is_taken_only_as_its_serializer_takes_it(event):
    try:
        fast = validation.check_event(copy.deepcopy(event))
    except Unsure:
        return
    assert same(fast, schema.EventField().run_validation(copy.deepcopy(event)))


@pytest.mark.parametrize("name", vitals.NAMES)
def test_a_vital_is_held_to_its_range_as_by_its_serializer(name):
    limit = vitals.VITALS[name].maximum
    edges = [-limit - 1, -limit, -1, -0.0, 0, 0.5, limit, float(limit), limit + 0.001, limit + 1]
    for value in [*edges, float("nan"), float("inf")]:
        for delta in [None, *edges]:
            event = {"id": "v1", "type": "vital", "name": name, "value": value}
            if delta is not None:
                event["delta"] = delta
            try:
                fast = validation.check_event(copy.deepcopy(event))
            except Unsure:
                with pytest.raises(serializers.ValidationError):
                    schema.EventField().run_validation(event)
                continue
            assert same(fast, schema.EventField().run_validation(event)), event


@SETTINGS
@given(data=ALTERED_BEACONS)
@example(data=json.loads(beacon_body()))
def test_whatever_the_fast_path_accepts_the_serializer_accepts_the_same(data):
    fast = fast_validate(copy.deepcopy(data))
    if fast is not None:
        expected = by_serializer(data)
        assert expected is not None
        assert same(fast, expected)
        assert same(rows(fast), rows(expected))


@SETTINGS
@given(data=ALTERED_BEACONS)
def test_validate_beacon_answers_as_the_serializer_does(data):
    try:
        answer = (BeaconSerializer().run_validation(copy.deepcopy(data)), None)
    except serializers.ValidationError as exc:
        answer = (None, exc.detail)
    assert validate_beacon(copy.deepcopy(data)) == answer


@SETTINGS
@given(data=BEACON)
@example(data=beacon())
@example(data=json.loads(beacon_body()))
def test_beacons_as_the_script_sends_them_take_the_fast_path(data):
    fast = fast_validate(copy.deepcopy(data))
    assert fast is not None
    assert same(fast, by_serializer(data))
