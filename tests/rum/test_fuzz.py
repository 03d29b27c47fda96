"""Fuzzing the beacon endpoint from its OpenAPI schema: never a 5xx, nothing stored when refused."""

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from rum import ingest
from rum.models import Event
from tests.rum.conftest import ORIGIN

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
beacon = schema["/api/rum/beacon/"]["POST"]
cases = st.one_of(
    beacon.as_strategy(generation_mode=GenerationMode.POSITIVE, headers={"Origin": ORIGIN}),
    beacon.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers={"Origin": ORIGIN}),
)


def send(client, case):
    """The case as schemathesis would send it, through Django's test client."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {
        k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "content-type"
    }
    content_type = (kwargs.get("headers") or {}).get("Content-Type", case.media_type or "")
    if "json" in kwargs:
        body = json.dumps(kwargs["json"], allow_nan=True)
    else:
        body = kwargs.get("data") or b""
    return client.generic(
        "POST", "/api/rum/beacon/", data=body, content_type=content_type, headers=headers
    )


@pytest.mark.django_db
@override_settings(RUM_THROTTLE_RATE="")
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases, use_real_key=st.booleans())
def test_no_input_gets_a_server_error_or_stores_what_was_refused(client, site, case, use_real_key):
    if use_real_key and isinstance(case.body, dict):
        case.body["key"] = site.public_key  # reach the validation behind the key check
    before = Event.objects.count()
    response = send(client, case)
    ingest.drain()
    assert response.status_code < 500, response.content
    stored = Event.objects.count() - before
    if response.status_code == 202:
        accepted = response.json()["accepted"]
        assert stored <= accepted  # fewer only when an event id was already stored
    else:
        assert response.status_code in (400, 403, 413, 415), response.status_code
        assert stored == 0
