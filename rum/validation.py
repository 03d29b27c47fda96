"""Validating a beacon: in plain Python when it is as the script sends it, else by serializer.

BeaconSerializer documents the beacon and words its errors, but runs some hundred
field objects per beacon. `fast_validate` gives the very same validated data for
well-formed beacons in a fraction of the time. It answers None when it cannot
vouch for the serializer's answer (a refusal, a number sent as a string, a string
with spaces to trim...), and the serializer decides. Each table below mirrors a
serializer of rum.beacon; tests/rum/test_validation.py holds them to it.
"""

from __future__ import annotations

from functools import cache

from rest_framework import serializers

from rum import vitals
from rum.beacon import (
    CONNECTIONS,
    EVENT_TYPES,
    ID_PATTERN,
    MAX_CUSTOM_VALUE,
    MAX_EVENTS,
    MAX_MS,
    NAVIGATION_TYPES,
    BeaconSerializer,
)


class Unsure(Exception):
    """Let the serializer decide."""


REQUIRED = object()  # no default: the field must be there
OPTIONAL = object()  # no default: left out of the result when missing
_MISSING = object()


def _text(max_length: int, blank: bool = False):
    """A CharField: trimmed, not blank (unless allowed), no NUL, no lone surrogate."""

    def check(value):
        if type(value) is not str:
            raise Unsure
        value = value.strip()
        if not value:
            if blank:
                return ""
            raise Unsure
        if len(value) > max_length or "\x00" in value:
            raise Unsure
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:  # a surrogate code point
                raise Unsure from None
        return value

    return check


_char64 = _text(64)


def _ident(value):
    if type(value) is not str or len(value) > 64 or ID_PATTERN.fullmatch(value) is None:
        raise Unsure
    return value


def _choice(options):
    options = frozenset(options)

    def check(value):
        if type(value) is not str or value not in options:
            raise Unsure
        return value

    return check


def _integer(low: int, high: int):
    def check(value):
        if type(value) is not int or not low <= value <= high:
            raise Unsure
        return value

    return check


def _number(low: float = -1e300, high: float = 1e300):
    """A finite FloatField; integers become floats, as float() makes them."""

    def check(value):
        kind = type(value)
        if kind is int:
            if not -(2**53) <= value <= 2**53:  # past this, float() rounds or overflows
                raise Unsure
            value = float(value)
        elif kind is not float:
            raise Unsure
        if not low <= value <= high:  # also refuses NaN and the infinities
            raise Unsure
        return value

    return check


def _boolean(value):
    if value is not True and value is not False:
        raise Unsure
    return value


def _attribution(value):
    """AttributionField: up to 12 short keys; strings cut at 1000, finite numbers, no null."""
    if type(value) is not dict or len(value) > 12:
        raise Unsure
    clean = {}
    for key, item in value.items():
        if type(key) is not str or len(key) > 40:
            raise Unsure
        kind = type(item)
        if kind is str:
            clean[key] = item[:1000]
        elif kind is float or kind is int:
            if not -1e9 <= item <= 1e9:
                raise Unsure
            clean[key] = item
        elif item is not None and kind is not bool:
            raise Unsure
    return clean


def _fields(value, table) -> dict:
    """A serializer's fields, in declaration order; keys it does not declare are dropped."""
    if type(value) is not dict:
        raise Unsure
    clean = {}
    for name, check, default in table:
        item = value.get(name, _MISSING)
        if item is _MISSING:
            if default is REQUIRED:
                raise Unsure
            if default is not OPTIONAL:
                clean[name] = default
        else:
            clean[name] = check(item)
    return clean


def _nested(table):
    return lambda value: _fields(value, table)


def _list(check, min_length: int, max_length: int):
    def check_all(value):
        if type(value) is not list or not min_length <= len(value) <= max_length:
            raise Unsure
        return [check(item) for item in value]

    return check_all


_finite = _number()

DEVICE = (
    ("viewport_width", _integer(0, 100_000), OPTIONAL),
    ("viewport_height", _integer(0, 100_000), OPTIONAL),
    ("memory", _number(0, 4096), OPTIONAL),
    ("connection", _choice(CONNECTIONS), OPTIONAL),
)
NAVIGATION = (
    ("type", _choice(NAVIGATION_TYPES), "navigate"),
    ("prerendered", _boolean, False),
    ("restored", _boolean, False),
)
SERVER_TIMING = (
    ("name", _text(64), REQUIRED),
    ("duration", _number(0, MAX_MS), REQUIRED),
    ("description", _text(100, blank=True), OPTIONAL),
)
EVENT_BASE = (
    ("id", _ident, REQUIRED),
    ("type", _choice(EVENT_TYPES), REQUIRED),
    ("page_view", _ident, OPTIONAL),
    ("url", _text(2048), OPTIONAL),
    ("navigation_type", _choice(NAVIGATION_TYPES), OPTIONAL),
)
EVENTS = {
    "pageview": EVENT_BASE
    + (
        ("title", _text(300, blank=True), OPTIONAL),
        ("referrer", _text(2048, blank=True), OPTIONAL),
    ),
    "vital": EVENT_BASE
    + (
        ("name", _choice(vitals.NAMES), REQUIRED),
        ("value", _finite, REQUIRED),
        ("delta", _finite, OPTIONAL),
        ("rating", _choice(vitals.RATINGS), OPTIONAL),
        ("metric_id", _char64, OPTIONAL),
        ("attribution", _attribution, OPTIONAL),
    ),
    "error": EVENT_BASE
    + (
        ("kind", _choice(["error", "unhandledrejection"]), "error"),
        ("message", _text(1000), REQUIRED),
        ("source", _text(1000, blank=True), OPTIONAL),
        ("line", _integer(0, 10_000_000), OPTIONAL),
        ("column", _integer(0, 10_000_000), OPTIONAL),
        ("stack", _text(8000, blank=True), OPTIONAL),
    ),
    "custom": EVENT_BASE
    + (
        ("name", _text(100), REQUIRED),
        ("value", _number(-MAX_CUSTOM_VALUE, MAX_CUSTOM_VALUE), OPTIONAL),
        ("attrs", _attribution, OPTIONAL),
    ),
}


def check_event(value):
    """EventField: the table of the event's type, and a vital's plausible range."""
    kind = value.get("type") if type(value) is dict else None
    table = EVENTS.get(kind) if type(kind) is str else None
    if table is None:
        raise Unsure
    event = _fields(value, table)
    if kind == "vital":  # VitalEventSerializer.validate: the plausible maxima of rum.vitals
        maximum = vitals.VITALS[event["name"]].maximum
        if not 0 <= event["value"] <= maximum or not -maximum <= event.get("delta", 0) <= maximum:
            raise Unsure
    return event


BEACON = (
    ("key", _char64, REQUIRED),
    ("session", _ident, REQUIRED),
    ("page_view", _ident, REQUIRED),
    ("url", _text(2048), REQUIRED),
    ("consent", _boolean, False),
    ("device", _nested(DEVICE), OPTIONAL),
    ("navigation", _nested(NAVIGATION), OPTIONAL),
    ("server_timing", _list(_nested(SERVER_TIMING), 0, 20), OPTIONAL),
    ("events", _list(check_event, 1, MAX_EVENTS), REQUIRED),
)


def fast_validate(data) -> dict | None:
    """BeaconSerializer's validated data for this beacon, or None: ask the serializer."""
    try:
        return _fields(data, BEACON)
    except Unsure:
        return None


@cache
def _beacon_serializer() -> BeaconSerializer:
    # Building a serializer copies all its fields: one per process, reused (it keeps no state).
    return BeaconSerializer()


def validate_beacon(data) -> tuple[dict | None, dict | None]:
    """(validated beacon, None) or (None, field errors)."""
    beacon = fast_validate(data)
    if beacon is not None:
        return beacon, None
    try:
        return _beacon_serializer().run_validation(data), None
    except serializers.ValidationError as exc:
        return None, exc.detail
