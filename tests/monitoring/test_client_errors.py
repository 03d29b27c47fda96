"""4xx and 5xx shown apart: the endpoints API, the Performance table and the alert sources.

The numbers are checked against a recomputation from the requests the test made.
"""

import csv
import io
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from alerts.sources import Query, get_source
from monitoring.recorder import REQUEST
from tests.monitoring.conftest import flush_and_fold

pytestmark = pytest.mark.django_db
ROUTES = [("/api/orders/", "GET"), ("/api/orders/", "POST"), ("/api/login/", "POST")]
# Share of each status class per endpoint: a login endpoint answers many 401s.
MIX = {
    ("/api/orders/", "GET"): {"2xx": 80, "3xx": 5, "4xx": 10, "5xx": 5},
    ("/api/orders/", "POST"): {"2xx": 90, "4xx": 2, "5xx": 8},
    ("/api/login/", "POST"): {"2xx": 60, "4xx": 40},
}
NOW = datetime.fromtimestamp(time.time() // 60 * 60, UTC)


@pytest.fixture
def requests_made(recorder):
    """About 600 requests over the last ten minutes; returns what was sent, per endpoint."""
    rng = random.Random(14)
    made: dict[tuple, Counter] = {endpoint: Counter() for endpoint in ROUTES}
    for minute in range(1, 11):
        for endpoint in ROUTES:
            classes, weights = zip(*MIX[endpoint].items(), strict=True)
            for status in rng.choices(classes, weights, k=20):
                at = (NOW - timedelta(minutes=minute)).timestamp() + rng.uniform(0, 59)
                recorder.record(REQUEST, *endpoint, status, 20.0, status == "5xx", at=at)
                made[endpoint][status, minute] += 1
    flush_and_fold(now=NOW.timestamp())
    return made


def share(made, endpoint, status, minutes=range(1, 11)):
    counts = made[endpoint]
    part = sum(n for (s, m), n in counts.items() if s == status and m in minutes)
    total = sum(n for (_, m), n in counts.items() if m in minutes)
    return part, 100.0 * part / total


def test_the_endpoints_api_gives_4xx_and_5xx_counts_and_rates(admin_client, requests_made):
    rows = admin_client.get("/api/monitoring/endpoints/", {"hours": 1}).json()
    assert len(rows) == len(ROUTES)
    for row in rows:
        endpoint = (row["route"], row["method"])
        client, client_rate = share(requests_made, endpoint, "4xx")
        server, server_rate = share(requests_made, endpoint, "5xx")
        assert row["client_errors"] == client and row["server_errors"] == server
        assert row["client_error_rate"] == pytest.approx(client_rate)
        assert row["server_error_rate"] == pytest.approx(server_rate)
        assert row["error_rate"] == pytest.approx(server_rate)  # unchanged meaning: 5xx


def test_the_endpoints_table_has_labelled_4xx_and_5xx_columns(admin_client, requests_made):
    response = admin_client.get("/admin/dashboards/performance/?range=1h&export=endpoints")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert "Error rate" not in rows[0]
    for row in rows:
        endpoint = (row["Route"], row["Method"])
        assert float(row["4xx rate"]) == pytest.approx(share(requests_made, endpoint, "4xx")[1])
        assert float(row["5xx rate"]) == pytest.approx(share(requests_made, endpoint, "5xx")[1])
    page = admin_client.get("/admin/dashboards/performance/?range=1h").text
    assert "4xx rate" in page and "5xx rate" in page


def evaluate(key, filters=None, group_by=()):
    source = get_source(key)
    query = Query.build("ratio", timedelta(minutes=5), filters or {}, group_by)
    source.validate(query)
    return source.evaluate([query], NOW)[0]


def test_4xx_and_5xx_rates_are_alert_sources(requests_made):
    last_five = range(1, 6)
    split = evaluate("monitoring.client_error_rate", group_by=["route", "method"])
    for endpoint in ROUTES:
        labels = (("method", endpoint[1]), ("route", endpoint[0]))
        expected = share(requests_made, endpoint, "4xx", last_five)[1]
        assert split[labels] == pytest.approx(expected)
    login = evaluate("monitoring.client_error_rate", filters={"route": "/api/login/"})
    assert login[()] == pytest.approx(share(requests_made, ROUTES[2], "4xx", last_five)[1])
    # The 5xx source still counts 5xx only: the login endpoint's 401s are not server errors.
    assert evaluate("monitoring.error_rate", filters={"route": "/api/login/"}) == {(): 0.0}
    assert get_source("monitoring.error_rate").label == "Error rate (5xx)"
    assert get_source("monitoring.client_error_rate").label == "Client error rate (4xx)"


def test_the_4xx_rate_over_all_routes(requests_made):
    total = sum(n for counts in requests_made.values() for (_, m), n in counts.items() if m <= 5)
    client = sum(
        n
        for counts in requests_made.values()
        for (s, m), n in counts.items()
        if s == "4xx" and m <= 5
    )
    assert evaluate("monitoring.client_error_rate")[()] == pytest.approx(100.0 * client / total)
