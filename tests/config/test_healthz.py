from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from config.models import Heartbeat
from config.tasks import record_heartbeat
from tests.support import closed_port

pytestmark = pytest.mark.django_db


def test_it_answers_200_when_everything_is_up(client):
    record_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "cache", "heartbeat"}
    assert all(check["ok"] for check in body["checks"].values())


def test_it_answers_503_before_the_first_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["heartbeat"]
    assert "no heartbeat yet" in response.json()["checks"]["heartbeat"]["detail"]


def test_it_answers_503_when_the_heartbeat_is_stale(client):
    Heartbeat.objects.create(name="beat", last_seen=timezone.now() - timedelta(minutes=10))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["heartbeat"]
    assert "600s ago" in response.json()["checks"]["heartbeat"]["detail"]


@pytest.fixture
def broker_down():
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    celery_app.conf.broker_transport_options = {}
    yield
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved


def test_it_answers_200_degraded_naming_the_broker_when_the_broker_is_down(client, broker_down):
    # Beacons and request metrics are written to the database meanwhile: still serving.
    record_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["failing"] == ["broker"]
    assert "Connection" in response.json()["checks"]["broker"]["detail"]


def test_it_answers_200_degraded_naming_the_cache_when_the_cache_is_down(client, settings):
    record_heartbeat()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["failing"] == ["cache"]


def test_it_is_not_cached(client):
    record_heartbeat()
    assert "no-cache" in client.get("/healthz")["Cache-Control"]
