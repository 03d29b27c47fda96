"""Accepted beacons and unfolded request metrics live in Redis: without its append-only
file a restart loses them, and `check --deploy` and /healthz say so (real redis-servers,
with and without AOF)."""

import pytest
from django.core import checks

from config.tasks import record_heartbeat
from rum import ingest
from rum.models import Event, Site
from tests.rum.conftest import ORIGIN
from tests.rum.test_queue import accepted_beacons, enqueue_without_kick
from tests.support import redis_server

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def use_redis(settings):
    def point_at(server):
        settings.REDIS_URL = server.url
        return server

    return point_at


def deploy_warnings() -> dict[str, str]:
    found = checks.run_checks(include_deployment_checks=True)
    return {message.id: message.msg for message in found}


def test_without_aof_deploy_check_and_healthz_warn(tmp_path, use_redis, client):
    with redis_server(tmp_path) as server:
        use_redis(server)
        assert "keeps nothing on disk" in deploy_warnings()["perfmon.W003"]
        record_heartbeat()
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        [warning] = response.json()["warnings"]
        assert "appendonly yes" in warning


def test_with_aof_every_second_nothing_is_said(tmp_path, use_redis, client):
    with redis_server(tmp_path, appendonly=True) as server:
        use_redis(server)
        assert "perfmon.W003" not in deploy_warnings()
        record_heartbeat()
        assert client.get("/healthz").json()["warnings"] == []


def test_a_redis_refusing_config_is_reported_as_unknown(tmp_path, use_redis, client):
    with redis_server(tmp_path, extra=("--rename-command", "CONFIG", "")) as server:
        use_redis(server)
        assert "persistence unknown" in deploy_warnings()["perfmon.W003"]
        record_heartbeat()
        assert "persistence unknown" in client.get("/healthz").json()["warnings"][0]


@pytest.mark.parametrize("appendonly", [True, False])
def test_what_a_redis_restart_keeps_of_the_queue(tmp_path, use_redis, appendonly):
    site = Site.objects.create(name="Shop", public_key="shop-key", allowed_origins=ORIGIN)
    with redis_server(tmp_path, appendonly=appendonly) as server:
        use_redis(server)
        enqueue_without_kick(accepted_beacons(site, 5))
        server.restart()  # killed, as a crash or an upgrade would
        ingest.drain()
    # With the append-only file every accepted beacon lands; without it all are gone,
    # which is what the warnings above are for.
    assert Event.objects.count() == (30 if appendonly else 0)
