"""The OpenAPI schema at /api/schema/ says what the API does.

Schemathesis generates requests from the schema for every operation (its examples,
coverage and fuzzing phases: valid requests, and ones the schema forbids) and checks
each answer: never a 5xx, a documented status code and content type, a body that
matches the documented schema, schema-valid requests accepted and invalid ones refused.
Anonymously, as a superuser and as staff holding only the view permissions.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import schemathesis
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings

from alerts.models import Alert, Rule
from dataquality.models import Scan
from dataquality.tasks import start_scan
from monitoring.models import SystemSample
from monitoring.recorder import REQUEST
from monitoring.recorder import recorder as the_recorder
from rum import demo as rum_demo
from rum import fold, ingest
from rum.models import Site
from tests.dataquality.helpers import balance_sheet, load_csv
from tests.monitoring.conftest import flush_and_fold

ORIGIN = "https://shop.example.com"
BEACON = "/api/rum/beacon/"
CSRF_TOKEN = "0123456789abcdefABCDEF0123456789"  # any 32 letters and digits
VIEW_PERMISSIONS = [
    ("monitoring", "view_dashboard"),
    ("rum", "view_rum"),
    ("dataquality", "view_dashboard"),
    ("alerts", "view_dashboard"),
]


def load_schema(phases: list[str]):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    # The API refuses NUL characters in any string (the database cannot store them).
    schema.config.generation.update(allow_x00=False, database="none")
    schema.config.phases.update(phases=phases)
    # Refusing a body or a query string as too large is refusing it too.
    refusals = schema.config.checks.negative_data_rejection
    refusals.expected_statuses = [*refusals.expected_statuses, "413", "414"]
    return schema


# Every phase as a superuser, who reaches every answer; a quicker pass anonymously (all
# refused) and as staff with only the view permissions.
thorough = load_schema(["examples", "coverage", "fuzzing"])
quick = load_schema(["fuzzing"]).exclude(path=BEACON)


def bounded(max_examples: int):
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture(autouse=True)
def _connection_kept_open():
    """The WSGI app closes the database connection around each request, and the test's
    transaction lives on it (Django's test client steps around this the same way)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def seeded(db, settings):
    """A little of everything, so the read operations answer real bodies."""
    settings.RUM_THROTTLE_RATE = ""  # the fuzzing sends hundreds of beacons
    the_recorder.reset()
    at = time.time() - 120
    for route, latency in (("/api/orders/", 40), ("/api/orders/", 900), ("/api/users/", 5)):
        the_recorder.record(REQUEST, route, "GET", "2xx", latency, False, at=at)
    flush_and_fold()
    now = timezone.now()
    SystemSample.objects.create(
        host="web-1", time=now, cpu_percent=42.0, memory_percent=55.0, disks={"/": 61.5}
    )
    site = Site.objects.create(name="Shop", public_key="shop-key", allowed_origins=ORIGIN)
    hour = (now - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    ingest.insert_rows(rum_demo.hour_rows(site.id, hour, now))
    fold.roll_up()
    load_csv(balance_sheet("Acme") + balance_sheet("Globex", liabilities=(900,)).split("\n", 1)[1])
    start_scan(Scan.Scope.ALL, requested_by="test")
    rule = Rule.objects.create(
        name="Latency", source="monitoring.request_latency", aggregation="p95",
        window_minutes=5, operator="gt", threshold=1000, severity="high", enabled=True,
    )  # fmt: skip
    Alert.objects.create(
        rule=rule, state="firing", value=1500, started_at=now, fired_at=now, evaluated_at=now
    )
    yield
    the_recorder.reset()


@pytest.fixture
def credentials(request, db, django_user_model) -> dict | None:
    """Cookies of a logged-in session (and a CSRF token for the POSTs), or None."""
    username = request.param
    if username == "anonymous":
        return None  # refused before any data is read: nothing to seed
    request.getfixturevalue("seeded")
    user = django_user_model.objects.create_user(
        username, is_staff=True, is_superuser=username == "superuser"
    )
    for app, codename in VIEW_PERMISSIONS:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF_TOKEN}


def call_and_validate(case, credentials):
    headers = {}
    # The schema's cookie parameter is the session: a generated case may leave it
    # out (then it is anonymous, and must be refused) or give a random one.
    if credentials and case.cookies and "sessionid" in case.cookies:
        case.cookies = {**case.cookies, **credentials}
        headers["X-CSRFToken"] = credentials["csrftoken"]
    case.call_and_validate(headers=headers)


@thorough.exclude(path=BEACON).parametrize()
@bounded(10)
@pytest.mark.django_db
@pytest.mark.parametrize("credentials", ["superuser"], indirect=True)
def test_staff_api_does_what_its_schema_says(case, credentials):
    call_and_validate(case, credentials)


@quick.parametrize()
@bounded(4)
@pytest.mark.django_db
@pytest.mark.parametrize("credentials", ["anonymous", "viewer"], indirect=True)
def test_staff_api_for_visitors_and_viewers(case, credentials):
    call_and_validate(case, credentials)


@thorough.include(path=BEACON).parametrize()
@bounded(10)
@pytest.mark.django_db
def test_the_beacon_does_what_its_schema_says(case, seeded):
    if isinstance(case.body, dict) and case.body.get("key") is not None:
        case.body = {**case.body, "key": "shop-key"}  # past the key check, to validation
    # Valid beacons may still be refused: a vital past its plausible maximum (CLS over
    # 100) is a 400 the schema cannot say, one maximum per vital name.
    case.call_and_validate(
        headers={"Origin": ORIGIN}, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )
    ingest.drain()


def test_the_schema_is_valid_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
