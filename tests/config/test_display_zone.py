"""Every time a person reads is in the display zone (TIME_ZONE), and the page says which.

One moment T is seeded in every area (requests, SQL, system samples, page views and JS
errors, a data-quality run, an alert, security and audit events); every dashboard page from
the registry, the overview and the alert admin are rendered in Asia/Kolkata (UTC+05:30, so
a whole-hour shortcut shows too). T must read as its local wall clock, never as UTC, in
the text and in the figures' JSON; every time on a chart's axis must lie in the range shown.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from config import dashboards, display_time
from tests.alerts.conftest import metric  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

ZONE = "Asia/Kolkata"
LOCAL = ZoneInfo(ZONE)
FIGURE = re.compile(r'<script id="figure-[0-9a-f]+" type="application/json">(.*?)</script>', re.S)
MOMENT = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def minute_text(moment: datetime, zone) -> str:
    """The minute of `moment` as it reads in `zone`, in either separator: a regex."""
    shown = moment.astimezone(zone)
    return rf"{shown:%Y-%m-%d}[T ]{shown:%H:%M}"


@pytest.fixture
def kolkata(settings):
    settings.TIME_ZONE = ZONE
    timezone.deactivate()
    yield
    timezone.deactivate()


@pytest.fixture
def moment(kolkata, admin_user):
    """T: ten past a UTC hour, 22-23 hours ago, in every area. Its UTC wall clock is
    before the last 24 hours' local start, so no local time on a page can read like it."""
    now = timezone.now()
    hour = (now - timedelta(hours=22)).replace(minute=0, second=0, microsecond=0)
    at = hour + timedelta(minutes=10)
    ids = {**_monitoring(at), **_rum(at, now), **_dataquality(at)}
    ids.update(_alerts(at), **_security_and_audit(at, admin_user))
    return at, hour, ids


def _monitoring(at):
    from monitoring.models import QueryFingerprint, SystemSample
    from monitoring.recorder import REQUEST, Work
    from monitoring.recorder import recorder as the_recorder
    from tests.monitoring.conftest import flush_and_fold

    the_recorder.reset()
    work = Work()
    work.db, work.count = 0.01, 2
    route = "/api/orders/<int:pk>/"
    for latency in (10, 20, 300):
        the_recorder.record(REQUEST, route, "GET", "2xx", latency, False, work, at=at.timestamp())
    the_recorder.sample(
        {"time": at.timestamp(), "route": route, "method": "GET", "status": 200,
         "duration_ms": 300.0, "db_ms": 3.0, "query_count": 2, "slow": True,
         "queries": [("SELECT 1", 0.5)], "repeated": {}}
    )  # fmt: skip
    flush_and_fold(now=time.time() + 180)
    statement = QueryFingerprint.objects.create(
        fingerprint="t" * 16, statement="SELECT 1", first_seen=at, last_seen=at
    )
    SystemSample.objects.create(
        host="web-1", time=at, cpu_percent=12.0, memory_percent=40.0, disk_percent=50.0,
        load_1=0.5, disks={"/": 50.0},
    )  # fmt: skip
    return {"route": route, "fingerprint": statement.fingerprint}


def _rum(at, now):
    from rum import demo, fold, ingest
    from rum.models import Site

    site = Site.objects.create(name="Shop", public_key="tz-key")
    rows = demo.hour_rows(site.id, at.replace(minute=0), now)[:6]
    rows.append(demo._error(rows[0], "tz:err", "TypeError: x is undefined", "/app.js", 3, "/"))
    ingest.insert_rows([{**row, "received_at": at} for row in rows])
    fold.roll_up()
    return {"site": site.pk, "page": rows[0]["page"]}


def _dataquality(at):
    from dataquality.models import Run, Statement
    from tests.dataquality.conftest import scan_all
    from tests.dataquality.helpers import balance_sheet, load_csv

    load_csv(balance_sheet("Acme"))
    scan_all()
    Run.objects.update(created_at=at)
    return {"statement": Statement.objects.get().pk}


def _alerts(at):
    from alerts.models import Alert, AlertEvent
    from tests.alerts.conftest import make_rule

    rule = make_rule(source="monitoring.request_latency", name="Slow orders")
    alert = Alert.objects.create(
        rule=rule, state="resolved", value=250.0, started_at=at, fired_at=at,
        resolved_at=at + timedelta(minutes=20), evaluated_at=at + timedelta(minutes=20),
    )  # fmt: skip
    AlertEvent.objects.create(alert=alert, at=at, previous="pending", state="firing", value=250)
    return {"alert": alert.pk}


def _security_and_audit(at, user):
    from audit.models import AuditEntry
    from security.models import LOGIN_FAILED, SecurityEvent

    SecurityEvent.objects.create(at=at, kind=LOGIN_FAILED, username="mallory")
    AuditEntry.objects.create(at=at, username=user.username, action="export", model="x")
    return {}


def pages(ids):
    """(url, what it must show of T: "T", "hour" (its UTC hour), or None)."""
    day = {"range": "24h"}
    params = {
        "performance-route": {**day, "route": ids["route"], "method": "GET"},
        "performance-query": {**day, "fingerprint": ids["fingerprint"]},
        "web-vitals-page": {**day, "site": ids["site"], "page": ids["page"]},
        "data-quality-statement": {**day, "statement": ids["statement"]},
    }
    shows = {"web-vitals": "hour", "web-vitals-page": None, "data-quality": "T"}
    found = [("/admin/", day, None)]
    for page in dashboards.pages():
        url = f"/admin/dashboards/{page.slug}/"
        found.append((url, params.get(page.slug, day), shows.get(page.slug, "T")))
    alert = f"/admin/alerts/alert/{ids['alert']}/change/"
    found += [("/admin/alerts/alert/", {}, "T"), (alert, {}, "T")]
    # Every other admin list: none may show T in UTC (their own columns, names of rows).
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        if url != "/admin/alerts/alert/":
            found.append((url, {}, None))
    return found


def figures(body: str) -> list[dict]:
    return [json.loads(unescape(raw)) for raw in FIGURE.findall(body)]


def chart_moments(figure: dict) -> list[str]:
    """Every moment a figure draws: x (or a bar's base) of each trace, and axis ranges."""
    found = []
    for trace in figure.get("data", []):
        for key in ("x", "base"):
            values = trace.get(key)
            values = values if isinstance(values, list) else [values]
            found += [v for v in values if isinstance(v, str) and MOMENT.match(v)]
    for name, axis in figure.get("layout", {}).items():
        if name.startswith("xaxis") and isinstance(axis, dict):
            found += [v for v in axis.get("range") or [] if isinstance(v, str) and MOMENT.match(v)]
    return found


def test_every_page_shows_times_in_the_display_zone(admin_client, moment):
    at, hour, ids = moment
    now = timezone.now()
    earliest = (now - timedelta(hours=25)).astimezone(LOCAL).replace(tzinfo=None)
    latest = (now + timedelta(hours=1)).astimezone(LOCAL).replace(tzinfo=None)
    problems = []
    for url, params, shows in pages(ids):
        response = admin_client.get(url, params)
        body = response.content.decode()
        where = f"{url} {params}"
        if response.status_code != 200:
            problems.append(f"{where}: status {response.status_code}")
            continue
        if f"Times in {ZONE}" not in body:
            problems.append(f"{where}: does not say its times are in {ZONE}")
        for utc_moment in (at, hour):
            if re.search(minute_text(utc_moment, UTC), body):
                problems.append(f"{where}: shows {utc_moment:%H:%M} UTC as a time")
        expected = {"T": at, "hour": hour}.get(shows)
        if expected and not re.search(minute_text(expected, LOCAL), body):
            problems.append(f"{where}: no {minute_text(expected, LOCAL)} (local) on the page")
        for figure in figures(body):
            drawn = chart_moments(figure)
            title = (figure["layout"].get("title") or {}).get("text", "figure")
            outside = [m for m in drawn if not earliest <= datetime.fromisoformat(m[:19]) <= latest]
            if outside:
                problems.append(f"{where} {title!r}: drawn outside the local range: {outside[:3]}")
            if drawn and display_time.axis_title() not in json.dumps(figure):
                problems.append(f"{where} {title!r}: the time axis does not name the zone")
    assert not problems, "\n".join(problems)
    # An export gives the exact moment with its offset, in the zone the page showed.
    export = admin_client.get("/admin/dashboards/js-errors/", {"range": "24h", "export": "errors"})
    assert at.astimezone(LOCAL).isoformat() in export.content.decode()


def test_a_chart_draws_local_wall_clock_for_aware_naive_and_pandas_moments(settings):
    import pandas as pd
    import plotly.graph_objects as go
    from plotly.utils import PlotlyJSONEncoder

    settings.TIME_ZONE = "America/New_York"
    timezone.deactivate()
    at = datetime(2026, 1, 15, 17, 25, tzinfo=UTC)
    figure = go.Figure(go.Scatter(x=pd.Series([pd.Timestamp(at)]), y=[1]))
    figure.add_trace(go.Scatter(x=[at, at.replace(tzinfo=None)], y=[1, 2]))
    figure.add_trace(go.Bar(base=[at], x=[60_000], y=["rule"], orientation="h"))
    figure.update_xaxes(range=[at - timedelta(hours=1), at])
    data = json.loads(json.dumps(display_time.figure_json(figure), cls=PlotlyJSONEncoder))
    assert data["data"][0]["x"][0].startswith("2026-01-15T12:25")
    assert [x[:16] for x in data["data"][1]["x"]] == ["2026-01-15T12:25"] * 2
    assert data["data"][2]["base"][0].startswith("2026-01-15T12:25")
    assert [r[:16] for r in data["layout"]["xaxis"]["range"]] == [
        "2026-01-15T11:25",
        "2026-01-15T12:25",
    ]
    assert data["layout"]["xaxis"]["title"]["text"] == "Time (America/New_York)"


def test_the_text_of_a_moment_names_its_zone_when_asked(settings):
    settings.TIME_ZONE = ZONE
    timezone.deactivate()
    at = datetime(2026, 1, 15, 17, 25, 9, tzinfo=UTC)
    assert display_time.text(at) == "2026-01-15 22:55"
    assert display_time.text(at, seconds=True, zone=True) == "2026-01-15 22:55:09 IST"
    assert display_time.text(at.isoformat(), zone=True) == "2026-01-15 22:55 IST"
    assert display_time.text(None) == "–"


def test_alert_notifications_say_the_local_time_and_its_zone(kolkata, moment):
    from alerts import messages
    from alerts.models import Alert

    at = moment[0]
    alert = Alert.objects.get()
    context = messages.snapshot(alert, alert.rule, "resolved", at + timedelta(minutes=20))
    message = messages.render(context)
    local, resolved = at.astimezone(LOCAL), (at + timedelta(minutes=20)).astimezone(LOCAL)
    for body in (message.text, message.html):
        assert f"{local:%Y-%m-%d %H:%M} IST" in body
        assert f"{resolved:%Y-%m-%d %H:%M} IST" in body
        assert f"{at:%H:%M}" not in body
    # Machines get the exact moment: the snapshot (webhook payloads) keeps ISO 8601 UTC.
    assert context["fired_at"] == at.isoformat()


def test_the_data_quality_report_says_its_period_in_local_time(kolkata):
    from dataquality.email_reports import Report, render_email

    start = datetime(2026, 1, 8, 3, 0, tzinfo=UTC)
    report = Report("Weekly", start, start + timedelta(days=7), dashboard_url="http://x/")
    _, text, html = render_email(report)
    for body in (text, html):
        assert "2026-01-08 08:30 IST to 2026-01-15 08:30 IST" in body
        assert "(UTC)" not in body and "03:00" not in body


def test_the_rule_preview_draws_and_lists_local_times(kolkata, admin_client, metric):  # noqa: F811
    from tests.alerts.conftest import Clock

    clock = Clock(metric)
    for m in range(1, 120):
        metric.add(clock.minute(m), 150 if 30 <= m < 60 else 50)
    form = {
        "name": "Preview me", "severity": "high", "source": metric.key, "aggregation": "max",
        "window_minutes": "5", "operator": "gt", "threshold": "100", "resolve_threshold": "",
        "for_minutes": "0", "filters": "", "group_by": "",
    }  # fmt: skip
    answer = admin_client.post("/admin/alerts/rule/preview/", form).json()
    fired = next(t for t in answer["figure"]["data"] if t["name"] == "would have fired")
    # Evaluated at whole minutes: the sample of minute 30 is seen at minute 31.
    local = clock.minute(31).astimezone(LOCAL)
    assert [x[:16] for x in fired["x"]] == [f"{local:%Y-%m-%dT%H:%M}"]
    assert f"{local:%Y-%m-%d %H:%M}" in answer["html"]
    assert display_time.axis_title() in json.dumps(answer["figure"])


def test_shared_time_axes_name_the_zone_where_their_ticks_are(settings):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    settings.TIME_ZONE = ZONE
    timezone.deactivate()
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True)
    figure.add_trace(go.Scatter(x=[datetime(2026, 1, 15, 17, 25, tzinfo=UTC)], y=[1]), 1, 1)
    layout = display_time.figure_json(figure)["layout"]
    assert layout["xaxis2"]["title"]["text"] == f"Time ({ZONE})"
    assert "title" not in layout["xaxis"]  # its tick labels are hidden


def test_a_new_maintenance_window_starts_in_the_display_zone(kolkata, admin_client):
    response = admin_client.get("/admin/alerts/maintenancewindow/add/")
    assert response.context["adminform"].form.initial["time_zone"] == ZONE
