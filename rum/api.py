"""The beacon endpoint browsers post to: validation, CORS, throttle, then accept."""

from __future__ import annotations

import json
import logging

import orjson
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from config.api import ErrorSerializer, FieldErrorsSerializer
from config.client_address import client_address
from rum import beacon as beacons
from rum import ingest
from rum.sites import SitesUnavailable, any_site_allows, sampled, site_for_key
from rum.useragent import BOT, classify
from rum.validation import validate_beacon

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024
BODY_TYPES = ("application/json", "text/plain")  # fetch, and sendBeacon with a string


class PlainTextParser(JSONParser):
    """sendBeacon posts a string as text/plain: the body is JSON all the same."""

    media_type = "text/plain"


class AlwaysJson(DefaultContentNegotiation):
    """The beacon answers JSON whatever the client accepts: sendBeacon cannot read the
    answer anyway, and a beacon must never be refused over its Accept header."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class BeaconThrottle(SimpleRateThrottle):
    """Per client address, counted in the shared cache (Redis when configured)."""

    scope = "rum_beacon"

    def get_rate(self):
        return settings.RUM_THROTTLE_RATE or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def get_ident(self, request):
        # DRF's own reading believes any X-Forwarded-For: rotating it would lift the limit.
        return client_address(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache is down: accepting beats refusing real data
            log.warning("RUM throttle cache unreachable; letting the beacon through")
            return True


def _error(status: int, detail, origin: str = "") -> Response:
    body = detail if isinstance(detail, dict) else {"detail": detail}
    return _cors(Response(body, status=status), origin)


def _accepted(origin: str, **counts) -> HttpResponse:
    """202 with the counts, as DRF would render them (without its rendering machinery)."""
    body = json.dumps(counts, separators=(",", ":"))
    return _cors(HttpResponse(body, status=202, content_type="application/json"), origin, True)


def _cors(response, origin: str, allowed: bool | None = None):
    if origin and allowed is None:
        try:
            allowed = any_site_allows(origin)
        except SitesUnavailable:  # an error answer names no site: the page may read it
            allowed = True
    if origin and allowed:
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def parse_json(body: bytes):
    """JSON that the database can store: no NUL characters, no unpaired surrogates."""
    if b"\x00" in body or b"\\u0000" in body:
        raise ValueError("NUL character")
    try:
        return orjson.loads(body)  # refuses invalid UTF-8 and unpaired surrogates itself
    except orjson.JSONDecodeError:
        pass
    # orjson also refuses NaN, Infinity and numbers past a double, which the standard parser
    # reads: then validation answers which field is wrong rather than "not JSON".
    text = body.decode("utf-8")
    data = json.loads(text)
    if "\\ud" in text.lower():  # an escaped surrogate: check each was part of a pair
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError if unpaired
    return data


def _read_body(request) -> bytes | None:
    """The body, or None when it is over the limit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BYTES:
        return None
    body = request.body
    return None if len(body) > MAX_BYTES else body


EXAMPLE = {
    "key": "site-public-key",
    "session": "3f2a9c1e",
    "page_view": "8d1b7e42",
    "url": "https://shop.example.com/orders/42?tab=items",
    "device": {"viewport_width": 390, "viewport_height": 844, "connection": "4g"},
    "navigation": {"type": "navigate"},
    "server_timing": [{"name": "app", "duration": 42.0}, {"name": "db", "duration": 11.5}],
    "events": [
        {"id": "8d1b7e42.1", "type": "pageview", "title": "Order 42", "referrer": ""},
        {"id": "8d1b7e42.2", "type": "vital", "name": "LCP", "value": 2140.5, "delta": 2140.5,
         "rating": "good", "attribution": {"target": "main>img.hero"}},
    ],
}  # fmt: skip


class BeaconView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [BeaconThrottle]
    parser_classes = [JSONParser, PlainTextParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AlwaysJson

    @extend_schema(
        operation_id="rum_beacon",
        summary="Send RUM events (what the script posts with sendBeacon)",
        request={"application/json": beacons.BeaconSerializer,
                 "text/plain": beacons.BeaconSerializer},
        responses={
            202: beacons.AcceptedSerializer,
            400: OpenApiResponse(FieldErrorsSerializer, "Malformed beacon: the field errors."),
            403: OpenApiResponse(ErrorSerializer, "Unknown key, origin refused, or no consent."),
            413: OpenApiResponse(ErrorSerializer, "Body over 64 KB."),
            429: OpenApiResponse(ErrorSerializer, "Too many beacons from this address."),
            503: OpenApiResponse(ErrorSerializer, "The database is unreachable and this key "
                                 "is not known yet: send again later (Retry-After)."),
        },
        examples=[OpenApiExample("A page load", value=EXAMPLE, request_only=True)],
        auth=[],
    )  # fmt: skip
    def post(self, request):
        origin = request.headers.get("Origin", "")
        media_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if media_type not in BODY_TYPES:  # what the schema says a beacon is sent as
            return _error(415, f"Send the beacon as {' or '.join(BODY_TYPES)}.", origin)
        body = _read_body(request)
        if body is None:
            return _error(413, f"The beacon is larger than {MAX_BYTES} bytes.", origin)
        try:
            data = parse_json(body)
        except (ValueError, RecursionError):
            return _error(400, "The body is not JSON (in UTF-8, without NUL characters).", origin)
        if not isinstance(data, dict):
            return _error(400, {"non_field_errors": ["Expected a JSON object."]}, origin)
        beacon, errors = validate_beacon(data)
        if errors is not None:
            return _error(400, errors, origin)
        site = site_for_key(beacon["key"])
        if site is None:
            return _error(403, "Unknown site key.", origin)
        if origin.rstrip("/") not in site.origins:
            return _error(403, f"Origin {origin or '(none)'} may not send to this site.", origin)
        if site.consent_required and not beacon["consent"]:
            return _error(403, "This site requires consent: call rum.consent(true).", origin)
        count = len(beacon["events"])
        if not sampled(site, beacon["session"]):
            return _accepted(origin, accepted=0, sampled_out=count)
        client = classify(request.headers.get("User-Agent", ""))
        if client.device == BOT:
            return _accepted(origin, accepted=0, ignored=count)
        scrubbed = beacons.scrub(beacon, request.get_host())
        ingest.accept(ingest.Accepted(scrubbed, site.id, client, timezone.now()))
        return _accepted(origin, accepted=count)

    def handle_exception(self, exc):
        """Every answer is JSON with its CORS header, a failure included: never Django's
        HTML page, which a page's script could not even read."""
        origin = self.request.headers.get("Origin", "") if self.request else ""
        if isinstance(exc, SitesUnavailable | DatabaseError):
            log.warning("RUM beacon refused, the database is unreachable: %s", exc)
            response = _error(503, "The site's key cannot be checked now; send later.", origin)
            response["Retry-After"] = "10"
            return response
        try:
            return _cors(super().handle_exception(exc), origin)  # DRF's own: 429, 405...
        except Exception:
            log.exception("RUM beacon failed")
            return _error(500, "The beacon could not be taken; send it again later.", origin)

    @extend_schema(exclude=True)
    def options(self, request, *args, **kwargs):
        """CORS preflight (a fetch with a JSON content type from another origin)."""
        origin = request.headers.get("Origin", "")
        if not origin or not any_site_allows(origin):
            return HttpResponse("Origin not allowed.\n", status=403, content_type="text/plain")
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        response["Vary"] = "Origin"
        return response
