import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from alerts import demo as alerts_demo
from alerts.evaluate import evaluate_rules
from alerts.models import Alert, Rule
from config.tasks import demo_tick
from monitoring import demo
from monitoring.models import MINUTE, Rollup, SystemSample
from monitoring.recorder import REQUEST

pytestmark = pytest.mark.django_db


def _states(rule_name: str, label: str, value: str) -> set[str]:
    rule = Rule.objects.get(name=rule_name)
    return {a.state for a in Alert.objects.filter(rule=rule) if a.labels.get(label) == value}


def test_each_hour_of_demo_traffic_fires_and_resolves_the_demo_alerts():
    demo.load(io.StringIO())
    alerts_demo.load(io.StringIO())
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)

    def at(minute: int) -> None:
        # Notifications are not sent: there is no web server to deliver to.
        evaluate_rules(hour + timedelta(minutes=minute, seconds=30))

    # Payment captures fail from minute 10 to 17: the 5-minute error rate passes 2 %.
    for minute in range(13, 17):
        at(minute)
    assert _states("Error rate above 2 %", "route", demo.PAYMENTS) == {"firing"}
    at(25)
    assert "resolved" in _states("Error rate above 2 %", "route", demo.PAYMENTS)

    # The order detail is slow from minute 35 to 41; the rule waits 2 minutes before firing.
    latency = ("API p95 latency above 1 s", "route", "/api/orders/<int:pk>/")
    at(37)
    assert _states(*latency) == {"pending"}
    for minute in range(38, 42):
        at(minute)
    assert _states(*latency) == {"firing"}
    at(48)
    assert "resolved" in _states(*latency)

    # worker-1's CPU runs hot from minute 50 to 57.
    for minute in range(54, 59):
        at(minute)
    assert _states("Host CPU above 70 %", "host", "worker-1") == {"firing"}
    assert _states("Host CPU above 70 %", "host", "web-1") == set()
    at(66)
    assert "resolved" in _states("Host CPU above 70 %", "host", "worker-1")


def test_the_demo_traffic_job_tops_up_the_minutes_since_the_last_run():
    call_command("load_demo_data", stdout=io.StringIO())
    job = PeriodicTask.objects.get(name="Demo traffic")
    assert job.task == "core.demo_tick" and job.enabled

    # As if the demo had been stopped for 30 minutes: the next tick fills the gap.
    latest = Rollup.objects.filter(resolution=MINUTE, kind=REQUEST).latest("time").time
    gap_start = latest - timedelta(minutes=29)
    Rollup.objects.filter(resolution=MINUTE, time__gte=gap_start).delete()
    SystemSample.objects.filter(time__gte=gap_start).delete()

    demo_tick.delay()

    minutes = set(
        Rollup.objects.filter(
            resolution=MINUTE, kind=REQUEST, name="/api/orders/<int:pk>/", time__gte=gap_start
        ).values_list("time", flat=True)
    )
    assert len(minutes) >= 30
    assert max(minutes) >= latest
    hosts = SystemSample.objects.filter(time__gte=gap_start).values_list("host", flat=True)
    assert {"web-1", "worker-1"} <= set(hosts)


def test_the_demo_traffic_shows_4xx_apart_from_5xx(admin_client):
    demo.load(io.StringIO())
    rows = admin_client.get("/api/monitoring/endpoints/", {"hours": 24}).json()
    by_route = {(r["route"], r["method"]): r for r in rows}
    me = by_route[("/api/users/me/", "GET")]
    assert me["client_error_rate"] == pytest.approx(6.0, abs=0.5) and me["server_errors"] == 0
    assert by_route[("<unmatched>", "GET")]["client_error_rate"] == 100.0
    payments = by_route[(demo.PAYMENTS, "POST")]
    assert payments["server_errors"] > 0 and payments["client_errors"] == 0
