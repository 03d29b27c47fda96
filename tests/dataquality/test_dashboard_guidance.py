"""The *Data quality* page tells the user what to do: recommendations, filters by check and
severity, the failing checks of each statement, a trend from the first scan, and a
streamed CSV whose links work. Figures are checked against a recomputation from the runs
and findings the scan of generated statements stored."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from urllib.parse import urlsplit

import pytest

from dataquality import synthetic
from dataquality.checks import get_check
from dataquality.models import PENALTIES, Finding, Statement
from tests.dataquality.conftest import load, scan_all

pytestmark = pytest.mark.django_db

PAGE = "/admin/dashboards/data-quality/?range=30d"
DEFECTS = {"negatives": 3, "equation": 2, "duplicates": 3, "missing_high": 2, "totals": 2}


@pytest.fixture
def scanned(today):
    """Generated statements of 5 entities with planted defects, scanned once."""
    load(synthetic.generate(seed=1814, today=today, entities=5, periods=(2, 3), defects=DEFECTS))
    scan_all()


def latest() -> dict[int, dict]:
    """Each statement's latest run and its findings, straight from the stored rows."""
    out = {}
    for statement in Statement.objects.select_related("entity", "latest_run"):
        run = statement.latest_run
        out[statement.pk] = {
            "entity_id": statement.entity_id,
            "score": run.score if run else None,
            "issues": run.issues if run else 0,
            "critical": run.critical if run else 0,
            "findings": [(f.check_key, f.severity) for f in Finding.objects.filter(run=run)]
            if run
            else [],
        }
    return out


def expected_recommendations(statements: dict[int, dict], check=None, severity=None):
    by_check: dict[str, dict] = defaultdict(lambda: {"statements": set(), "points": 0})
    for statement_id, found in statements.items():
        for key, sev in found["findings"]:
            if (check and key != check) or (severity and sev != severity):
                continue
            by_check[key]["statements"].add(statement_id)
            by_check[key]["points"] += PENALTIES[sev]
    ranked = sorted(
        by_check.items(), key=lambda kv: (-kv[1]["points"], -len(kv[1]["statements"]), kv[0])
    )
    return [(get_check(k).title, len(v["statements"]), v["points"]) for k, v in ranked[:5]]


def shown_recommendations(response):
    return [(r["check"], r["statements"], r["points"]) for r in response.context["recommendations"]]


def table_rows(response):
    [table] = response.context["tables"]
    return list(table.rows)


def failing(found: dict) -> set[str]:
    return {get_check(key).title for key, _ in found["findings"]}


def test_cards_recommendations_and_failing_checks_match_a_recomputation(admin_client, scanned):
    statements = latest()
    response = admin_client.get(PAGE)
    assert response.status_code == 200

    scores = [s["score"] for s in statements.values()]
    cards = {c.title: dict(c.metrics) for c in response.context["cards"]}
    assert cards["Average score"] == {"latest runs": f"{sum(scores) / len(scores):.1f}"}
    assert cards["Critical issues"] == {
        "open": str(sum(s["critical"] for s in statements.values()))
    }
    assert cards["Total issues"] == {"open": str(sum(s["issues"] for s in statements.values()))}
    good = sum(score >= 90 for score in scores)
    assert cards["Statements scoring ≥ 90"]["statements"] == f"{good} of {len(scores)}"

    expected = expected_recommendations(statements)
    assert len(expected) >= 3  # the planted defects trip several checks
    assert shown_recommendations(response) == expected
    for item in response.context["recommendations"]:
        assert item["text"] == get_check(item["check_key"]).recommendation
        assert item["text"] in response.text
    assert 'id="recommendations"' in response.text

    rows = table_rows(response)
    assert [r["score"] for r in rows] == sorted(scores)
    for row in rows:
        assert set(filter(None, row["failing"].split(", "))) == failing(statements[row["id"]])
    assert "Failing checks" in response.text


FILTERS = [("negative_balances", ""), ("", "critical"), ("duplicates", "medium"), ("totals", "low")]


def test_filters_by_check_and_severity_narrow_everything(admin_client, scanned):
    statements = latest()
    for check, severity in FILTERS:
        matching = {
            sid: found
            for sid, found in statements.items()
            if any(
                (not check or k == check) and (not severity or s == severity)
                for k, s in found["findings"]
            )
        }
        query = f"{PAGE}&check={check}&severity={severity}"
        response = admin_client.get(query)
        assert response.status_code == 200
        assert {r["id"] for r in table_rows(response)} == set(matching), (check, severity)
        expected = expected_recommendations(statements, check, severity)
        assert shown_recommendations(response) == expected
        if matching:
            scores = [m["score"] for m in matching.values()]
            cards = {c.title: dict(c.metrics) for c in response.context["cards"]}
            assert cards["Average score"] == {"latest runs": f"{sum(scores) / len(scores):.1f}"}
        # The filter bar keeps the choice, and the form does not send it twice.
        if check:
            assert f'<option value="{check}" selected>' in response.text
            assert '<input type="hidden" name="check"' not in response.text
        exported = exported_rows(admin_client.get(query + "&export=statements"))
        assert len(exported) == 1 + len(matching)


def test_a_recommendation_links_to_its_statements(admin_client, scanned):
    response = admin_client.get(PAGE)
    first = response.context["recommendations"][0]
    assert f"check={first['check_key']}" in first["url"]
    narrowed = admin_client.get(first["url"])
    assert len(table_rows(narrowed)) == first["statements"]


BAD_FILTERS = [
    ("check=spelling", "check"),
    ("severity=urgent", "severity"),
    ("severity=Critical", "severity"),
    ("check=duplicates&check=totals", "check"),
    ("entity=abc", "entity"),
    ("entity=99999999999999999999999", "entity"),
    ("type=ledger", "type"),
]


def test_bad_filter_values_are_refused_with_a_400_naming_the_filter(admin_client):
    for query, field in BAD_FILTERS:
        response = admin_client.get(f"{PAGE}&{query}")
        assert response.status_code == 400, query
        assert f"<strong>{field}</strong>" in response.text
        assert admin_client.get(f"{PAGE}&{query}&export=statements").status_code == 400


def exported_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming  # sent as it is read, not built whole in memory
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_streams_every_statement_with_absolute_links_that_resolve(
    admin_client, scanned, monkeypatch
):
    from dataquality import queries

    # Several chunks with a few dozen statements.
    monkeypatch.setattr(queries, "CHUNK", 7, raising=False)
    statements = latest()
    response = admin_client.get(PAGE + "&export=statements")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = exported_rows(response)
    assert len(rows) == len(statements) == Statement.objects.count()
    column = {title: i for i, title in enumerate(header)}
    assert [int(r[column["Score"]]) for r in rows] == sorted(
        s["score"] for s in statements.values()
    )
    ids = []
    for row in rows:
        details, recheck = row[column["Details"]], row[column["Re-check"]]
        for link in (details, recheck):
            parts = urlsplit(link)
            assert (parts.scheme, parts.netloc) == ("http", "testserver")
        statement_id = int(details.rsplit("=", 1)[1])
        assert f"/{statement_id}/" in recheck
        ids.append(statement_id)
        found = set(filter(None, row[column["Failing checks"]].split(", ")))
        assert found == failing(statements[statement_id])
    assert sorted(ids) == sorted(statements)
    for row in (rows[0], rows[-1]):  # the links open the statement and its re-check
        for link in (row[column["Details"]], row[column["Re-check"]]):
            parts = urlsplit(link)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            assert admin_client.get(path, follow=True).status_code == 200


def test_the_trend_shows_a_marker_after_the_first_scan(admin_client, today):
    load(synthetic.generate(seed=5, today=today, entities=2, periods=(1, 1), stale=0))
    scan_all()
    response = admin_client.get(PAGE)
    trend = response.context["figures"][0]
    overall = next(t for t in trend.data if t.name == "All statements")
    points = [y for y in overall.y if y == y]  # NaN (before the scan) is no point
    assert len(points) == 1
    assert "markers" in overall.mode
    expected = Statement.objects.values_list("latest_run__score", flat=True)
    assert points[0] == round(sum(expected) / len(expected), 1)
