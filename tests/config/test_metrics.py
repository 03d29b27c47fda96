import re
import shutil
import subprocess
import urllib.request

import pytest

from tests.support import background, free_port, gunicorn_command, subprocess_env, wait_for_http

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = "scrape-token"
    settings.METRICS_ALLOWED_IPS = []
    return "scrape-token"


def test_it_asks_for_a_token_when_none_is_sent(client, token):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_it_refuses_a_wrong_token(client, token):
    response = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert response.status_code == 403


def test_it_exports_metrics_for_the_right_token(client, token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert 'django_migrations_unapplied{connection="default"} 0.0' in response.text


def test_it_allows_a_listed_address_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "::1"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


def test_it_refuses_other_addresses_even_with_a_forwarded_header(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    response = client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert response.status_code == 403


def test_it_is_closed_when_nothing_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics").status_code == 403


def test_the_export_passes_promtool(client, token):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    client.get("/healthz")
    client.get("/admin/login/")
    body = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).content
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def _scrape(url: str, token: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return response.read().decode()


def test_counts_add_up_across_gunicorn_workers(tmp_path):
    port = free_port()
    prometheus_dir = tmp_path / "prometheus"
    env = subprocess_env(
        PORT=str(port),
        VAR_DIR=str(tmp_path),
        PROMETHEUS_MULTIPROC_DIR=str(prometheus_dir),
        METRICS_TOKEN="t0ken",
        DATABASE_URL=None,
        ACCESS_LOG="",
    )
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with background(gunicorn_command(workers=2), env, log) as server:
        # Probe another view: a probe that times out while a worker boots is still
        # served later, and must not count among the logins below.
        wait_for_http(f"{base}/healthz", process=server, log_path=log)
        for _ in range(40):
            # A new connection each time, so both workers take requests.
            urllib.request.urlopen(f"{base}/admin/login/", timeout=5).read()  # noqa: S310
        pattern = re.compile(
            r'django_http_responses_total_by_status_view_method_total\{method="GET",'
            r'status="200",view="admin:login"\} (\S+)'
        )
        counts = {
            float(pattern.search(_scrape(f"{base}/metrics", "t0ken")).group(1)) for _ in range(10)
        }
        writers = {p.name.rsplit("_", 1)[-1] for p in prometheus_dir.glob("counter_*.db")}
    # Forty, in every scrape, whichever worker answers.
    assert counts == {40.0}
    assert len(writers) == 2, f"expected both workers to record requests, got {writers}"
