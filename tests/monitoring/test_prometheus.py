"""/metrics: our counters and histograms; django-prometheus's own instrumentation is opt-in."""

import pytest
from django.conf import settings

from tests.support import run_manage, run_python, subprocess_env

pytestmark = pytest.mark.django_db

SCRAPE = """
from django.conf import settings
from django.test import Client
from monitoring.recorder import recorder
client = Client()
client.get("/admin/login/")
client.get("/admin/login/")
recorder.flush()
settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
print(settings.DATABASES["default"]["ENGINE"])
wanted = ("django_http_requests_total_by_method_total", "perfmon_http_requests_total")
for line in body.splitlines():
    if line.startswith(wanted):
        print(line)
"""


def test_django_prometheus_middleware_and_db_wrappers_are_off_by_default():
    assert not [m for m in settings.MIDDLEWARE if m.startswith("django_prometheus")]
    assert settings.MIDDLEWARE[0] == "monitoring.middleware.RequestMetricsMiddleware"
    assert settings.DATABASES["default"]["ENGINE"].startswith("django.db.backends.")


def test_django_prometheus_instrumentation_can_be_turned_on(tmp_path):
    env = subprocess_env(
        DJANGO_PROMETHEUS_INSTRUMENTATION="true",
        DATABASE_URL=None,
        REDIS_URL=None,
        VAR_DIR=str(tmp_path),
        PROMETHEUS_MULTIPROC_DIR=None,
    )
    assert run_manage("migrate", env=env).returncode == 0
    result = run_python(SCRAPE, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "django_prometheus.db.backends.sqlite3"
    # Two logins and the scrape itself, counted by django-prometheus's middleware.
    assert 'django_http_requests_total_by_method_total{method="GET"} 3.0' in lines
    login = 'perfmon_http_requests_total{method="GET",route="/admin/login/",status_class="2xx"} 2.0'
    assert login in lines
