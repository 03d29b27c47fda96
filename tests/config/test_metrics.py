import re
import shutil
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import (
    background,
    free_port,
    gunicorn_command,
    run_manage,
    subprocess_env,
    wait_for_http,
    wait_until,
)

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
    from monitoring.recorder import recorder

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    client.get("/healthz")
    client.get("/admin/login/")
    client.get("/no/such/page/")
    recorder.flush()
    body = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).content
    text = body.decode()
    assert (
        'perfmon_http_requests_total{method="GET",route="/admin/login/",status_class="2xx"} 1.0'
        in text
    )
    assert (
        'perfmon_http_requests_total{method="GET",route="<unmatched>",status_class="4xx"} 1.0'
        in text
    )
    assert (
        'perfmon_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/healthz"}'
        in text
    )
    assert "perfmon_http_request_db_seconds_total" in text
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def _scrape(url: str, token: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return response.read().decode()


def test_counts_add_up_across_gunicorn_workers(tmp_path):
    port = free_port()
    access_log = tmp_path / "access.log"
    env = subprocess_env(
        PORT=str(port),
        VAR_DIR=str(tmp_path),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        METRICS_TOKEN="t0ken",
        DATABASE_URL=None,
        ACCESS_LOG=str(access_log),
        MONITORING_FLUSH_SECONDS="0.5",
    )
    assert run_manage("migrate", env=env).returncode == 0
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    command = [*gunicorn_command(workers=2), "--access-logformat", "%(p)s %(U)s"]
    with background(command, env, log) as server:
        wait_for_http(f"{base}/admin/login/", process=server, log_path=log)

        def login_page(_) -> None:
            urllib.request.urlopen(f"{base}/admin/login/", timeout=5).read()  # noqa: S310

        def logins() -> list[str]:
            answered = [line.split() for line in access_log.read_text().splitlines()]
            return [pid for pid, path in answered if path == "/admin/login/"]

        # Concurrent requests, so that both workers take some: one idle worker may
        # otherwise win every accept.
        with ThreadPoolExecutor(8) as pool:
            for _ in range(50):
                list(pool.map(login_page, range(8)))
                if len(logins()) >= 40 and len(set(logins())) == 2:
                    break
        pattern = re.compile(
            r'perfmon_http_requests_total\{method="GET",route="/admin/login/",'
            r'status_class="2xx"\} (\S+)'
        )

        def count() -> float:
            found = pattern.search(_scrape(f"{base}/metrics", "t0ken"))
            return float(found.group(1)) if found else 0.0

        # Each worker flushes every half second: wait until the counter has every
        # request gunicorn answered, then scrape again and again.
        wait_until(lambda: count() == len(logins()) >= 41, timeout=20, message="counts differ")
        counts = {count() for _ in range(10)}
        answered = logins()
    # At least forty requests plus wait_for_http's (one, or more when a worker was
    # still starting): every scrape, whichever worker answers, counts what gunicorn answered.
    assert counts == {float(len(answered))}
    assert len(set(answered)) == 2, f"expected both workers to answer requests, got {answered}"
