"""The beacon a browser sends: its validation, and the event rows it becomes."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.urls import Resolver404, resolve
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from config.api import JsonSerializer
from rum import vitals
from rum.normalise import normalise_path, referrer_host, scrub_urls, split_url
from rum.useragent import Client, classify

MAX_EVENTS = 200
MAX_MS = vitals.MAX_MS  # two minutes: any longer duration is an artefact
# Custom event values (amounts, counts, durations): finite and no larger than this.
MAX_CUSTOM_VALUE = 1e9
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]+$")
NAVIGATION_TYPES = (
    "navigate",
    "reload",
    "back-forward",
    "back-forward-cache",
    "prerender",
    "restore",
    "soft-navigation",
)
CONNECTIONS = ("slow-2g", "2g", "3g", "4g")
EVENT_TYPES = ("pageview", "vital", "error", "custom")


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise serializers.ValidationError("must be a finite number")
    return value


class _IdValidator(RegexValidator):
    """ID_PATTERN over the whole value: a search would let a trailing newline through."""

    regex = ID_PATTERN
    message = "letters, digits and _ . : - only"

    def __call__(self, value):
        if ID_PATTERN.fullmatch(str(value)) is None:
            raise ValidationError(self.message, code=self.code)


class IdField(serializers.CharField):
    """As the schema's pattern says: nothing else, not even surrounding spaces."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(_IdValidator())


@extend_schema_field(
    {"type": "object", "maxProperties": 12,
     "description": "Names of at most 40 characters; booleans and nulls are dropped.",
     "additionalProperties": {"nullable": True, "oneOf": [
         {"type": "string"}, {"type": "number", "minimum": -1e9, "maximum": 1e9},
         {"type": "boolean"}]}}
)  # fmt: skip
class AttributionField(serializers.Field):
    """Flat attribution: up to 12 keys, each a short string or a finite number.

    One loop over the keys, no field per value: it runs for every event.
    """

    def to_representation(self, value):
        return value

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected an object of names to values.")
        if len(data) > 12:
            raise serializers.ValidationError("at most 12 attribution entries")
        clean = {}
        for key, value in data.items():
            if len(key) > 40:
                raise serializers.ValidationError(f"key {key[:40]!r}… is too long")
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int | float):
                # A comparison, not math.isfinite: that overflows on a huge integer.
                if not -1e9 <= value <= 1e9:
                    raise serializers.ValidationError(f"{key}: must be a finite number")
                clean[key] = value
            elif isinstance(value, str):
                clean[key] = value[:1000]
            else:
                raise serializers.ValidationError(f"{key}: must be a string or a number")
        return clean


class DeviceSerializer(JsonSerializer):
    viewport_width = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    viewport_height = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    memory = serializers.FloatField(min_value=0, max_value=4096, required=False)
    connection = serializers.ChoiceField(CONNECTIONS, required=False)


class NavigationSerializer(JsonSerializer):
    type = serializers.ChoiceField(NAVIGATION_TYPES, default="navigate")
    prerendered = serializers.BooleanField(default=False)
    restored = serializers.BooleanField(default=False)


class ServerTimingSerializer(JsonSerializer):
    name = serializers.CharField(max_length=64)
    duration = serializers.FloatField(min_value=0, max_value=MAX_MS)
    description = serializers.CharField(max_length=100, required=False, allow_blank=True)


class _EventBase(JsonSerializer):
    id = IdField(help_text="Unique per event; a resent event with the same id is stored once.")
    type = serializers.ChoiceField(EVENT_TYPES)
    page_view = IdField(required=False, help_text="Overrides the beacon's (soft navigations).")
    url = serializers.CharField(max_length=2048, required=False)
    navigation_type = serializers.ChoiceField(NAVIGATION_TYPES, required=False)


class PageViewEventSerializer(_EventBase):
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    referrer = serializers.CharField(max_length=2048, required=False, allow_blank=True)


PLAUSIBLE = ", ".join(f"{v.name} {v.maximum:g}" for v in vitals.VITALS.values())


class VitalEventSerializer(_EventBase):
    name = serializers.ChoiceField(vitals.NAMES)
    value = serializers.FloatField(
        validators=[finite],
        help_text=f"0 up to the vital's plausible maximum ({PLAUSIBLE}; ms but CLS); "
        "a larger value is refused: the beacon answers 400.",
    )
    delta = serializers.FloatField(
        required=False, validators=[finite], help_text="Within ± the vital's maximum."
    )
    rating = serializers.ChoiceField(vitals.RATINGS, required=False)
    metric_id = serializers.CharField(max_length=64, required=False)
    attribution = AttributionField(required=False)

    def validate(self, attrs):
        maximum = vitals.VITALS[attrs["name"]].maximum
        for field in ("value", "delta"):
            if field in attrs and not -maximum <= attrs[field] <= maximum:
                raise serializers.ValidationError({field: f"must be within ±{maximum:g}"})
        if attrs["value"] < 0:
            raise serializers.ValidationError({"value": "must not be negative"})
        return attrs


class ErrorEventSerializer(_EventBase):
    kind = serializers.ChoiceField(["error", "unhandledrejection"], default="error")
    message = serializers.CharField(max_length=1000)
    source = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    line = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    column = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    stack = serializers.CharField(max_length=8000, required=False, allow_blank=True)


class CustomEventSerializer(_EventBase):
    name = serializers.CharField(max_length=100)
    value = serializers.FloatField(
        required=False,
        min_value=-MAX_CUSTOM_VALUE,
        max_value=MAX_CUSTOM_VALUE,
        validators=[finite],
        help_text=f"Finite, within ±{MAX_CUSTOM_VALUE:g}; beyond, the beacon answers 400.",
    )
    attrs = AttributionField(required=False)


EVENT_SERIALIZERS = {
    "pageview": PageViewEventSerializer,
    "vital": VitalEventSerializer,
    "error": ErrorEventSerializer,
    "custom": CustomEventSerializer,
}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="RumEvent",
        serializers=EVENT_SERIALIZERS,
        resource_type_field_name="type",
    )
)
class EventField(serializers.Field):
    """One event, validated by the serializer of its `type` (one instance each, reused)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.by_type = {kind: cls() for kind, cls in EVENT_SERIALIZERS.items()}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected an event object.")
        kind = data.get("type")
        serializer = self.by_type.get(kind) if isinstance(kind, str) else None
        if serializer is None:
            raise serializers.ValidationError(
                {"type": [f"must be one of {', '.join(EVENT_TYPES)}"]}
            )
        return serializer.run_validation(data)

    def to_representation(self, value):
        return value


class BeaconSerializer(JsonSerializer):
    key = serializers.CharField(max_length=64, help_text="The site's public key.")
    session = IdField(help_text="Random per browser tab session.")
    page_view = IdField(help_text="Random per page view.")
    url = serializers.CharField(max_length=2048, help_text="The page's URL (query dropped).")
    consent = serializers.BooleanField(default=False)
    device = DeviceSerializer(required=False)
    navigation = NavigationSerializer(required=False)
    server_timing = ServerTimingSerializer(many=True, required=False, max_length=20)
    events = serializers.ListField(child=EventField(), min_length=1, max_length=MAX_EVENTS)


class AcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events accepted (stored exactly once).")
    sampled_out = serializers.IntegerField(
        required=False, help_text="Events dropped: the session is outside the sample rate."
    )
    ignored = serializers.IntegerField(required=False, help_text="Events dropped: sent by a bot.")


def server_times(entries: list[dict]) -> tuple[float | None, float | None]:
    """Server and DB time of the navigation from its Server-Timing (`app`, `db`)."""
    found = {e["name"]: e["duration"] for e in entries}
    server = found.get("app", found.get("total"))
    return server, found.get("db")


def route_of(host: str, path: str, request_host: str) -> str:
    """The Django route template of a page this site serves itself, else ""."""
    if not host or host != request_host.split(":")[0]:
        return ""
    try:
        match = resolve(path or "/")
    except (Resolver404, ValueError):
        return ""
    return "/" + match.route if match.route is not None else ""


@lru_cache(maxsize=1024)
def fingerprint(message: str, stack: str, source: str, line: int) -> str:
    """Message (numbers folded) plus the top stack frame, so one bug is one group."""
    # The texts come scrubbed (`scrub`): no query string splits one bug into many groups.
    frame = next((f.strip() for f in stack.splitlines() if "at " in f or "@" in f), "")
    if not frame:
        frame = f"{split_url(source)[1]}:{line}"
    text = re.sub(r"\d+", "N", message) + "\n" + frame
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


# Pages, referrers and errors repeat from beacon to beacon: their (pure) normalisation
# is remembered per process.
@lru_cache(maxsize=1024)
def _page(url: str) -> tuple[str, str, str]:
    """(host, path, normalised path) of a page's URL."""
    host, path = split_url(url)
    return host[:255], path, normalise_path(path)


_referrer_host = lru_cache(maxsize=1024)(referrer_host)


def event_rows(
    beacon: dict, site_id: int, user_agent: str, request_host: str, received_at: datetime
) -> list[dict]:
    """The validated beacon as rows of rum_event (privacy rules applied); changes `beacon`."""
    client = classify(user_agent)
    return scrubbed_rows(scrub(beacon, request_host), site_id, client, received_at.isoformat())


def scrub(beacon: dict, request_host: str) -> dict:
    """The validated beacon, changed in place, without what is never kept.

    Each page URL becomes its host, normalised path and route (no query string, fragment
    or ids); a referrer, its host; every URL in free text (error messages, stacks, script
    URLs, titles, attribution such as selectors and the LCP resource, custom event names
    and properties) loses its query string and fragment, before errors are fingerprinted.
    The endpoint queues the beacon in this form, so nothing private waits in Redis either.
    """
    pages: dict[str, tuple[str, str, str]] = {}
    for holder in (beacon, *beacon["events"]):
        url = holder.pop("url", None)
        if url is not None:
            if url not in pages:
                host, path, page = _page(url)
                pages[url] = (host, page, route_of(host, path, request_host)[:300])
            holder["host"], holder["page"], holder["route"] = pages[url]
    for event in beacon["events"]:
        kind = event["type"]
        if kind == "pageview":
            event["referrer"] = _referrer_host(event.get("referrer", ""))
            if "title" in event:
                event["title"] = scrub_urls(event["title"])
        elif kind == "vital":
            _scrub_values(event.get("attribution"))
        elif kind == "error":
            for field in ("message", "stack", "source"):
                event[field] = scrub_urls(event.get(field, ""))
        else:
            event["name"] = scrub_urls(event["name"])
            _scrub_values(event.get("attrs"))
    return beacon


def _scrub_values(properties: dict | None) -> None:
    for key, value in (properties or {}).items():
        if type(value) is str:
            properties[key] = scrub_urls(value)


def scrubbed_rows(beacon: dict, site_id: int, client: Client, received_at: str) -> list[dict]:
    """Rows of rum_event from a beacon as `scrub` left it (the worker builds them)."""
    device = beacon.get("device") or {}
    navigation = beacon.get("navigation") or {}
    server_ms, db_ms = server_times(beacon.get("server_timing") or [])
    common = {
        "site_id": site_id,
        "received_at": received_at,
        "session_id": beacon["session"],
        "device": client.device,
        "browser": client.browser,
        "os": client.os,
        "connection": device.get("connection", ""),
    }
    context = {k: v for k, v in {**device, **navigation}.items() if k != "connection"}
    rows = []
    for event in beacon["events"]:
        place = event if "page" in event else beacon
        rows.append(
            {
                **common,
                **_by_kind(event, server_ms, db_ms, context),
                "event_key": f"{beacon['session']}:{event['id']}"[:140],
                "page_view_id": event.get("page_view") or beacon["page_view"],
                "kind": event["type"],
                "host": place["host"],
                "page": place["page"],
                "route": place["route"],
                "navigation_type": event.get("navigation_type") or navigation.get("type", ""),
            }
        )
    return rows


def _by_kind(event: dict, server_ms, db_ms, context: dict) -> dict:
    kind = event["type"]
    row = {
        "name": "",
        "value": None,
        "delta": None,
        "rating": "",
        "target": "",
        "server_ms": None,
        "db_ms": None,
        "message": "",
        "fingerprint": "",
        "detail": {},
    }
    if kind == "pageview":
        row.update(server_ms=server_ms, db_ms=db_ms)
        row["detail"] = {**context, "title": event.get("title", ""), "referrer": event["referrer"]}
    elif kind == "vital":
        vital = vitals.VITALS[event["name"]]
        attribution = event.get("attribution") or {}
        row.update(
            name=vital.name,
            value=event["value"],
            delta=event.get("delta"),
            rating=vital.rate(event["value"]),
            target=str(attribution.get("target", ""))[:300],
        )
        if vital.name == "TTFB":
            row.update(server_ms=server_ms, db_ms=db_ms)
        row["detail"] = {"metric_id": event.get("metric_id", ""), "attribution": attribution}
    elif kind == "error":
        stack, source = event["stack"], event["source"]
        row.update(
            message=event["message"],
            name=event.get("kind", "error"),
            fingerprint=fingerprint(event["message"], stack, source, event.get("line", 0)),
        )
        row["detail"] = {
            "source": source,
            "line": event.get("line", 0),
            "column": event.get("column", 0),
            "stack": stack,
        }
    else:
        row.update(name=event["name"], value=event.get("value"))
        row["detail"] = {"attrs": event.get("attrs") or {}}
    return row
