import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rum import fold
from rum.admin import EstimatedCountPaginator
from rum.models import Event, Rollup, Site
from tests.rum.conftest import beacon, post

pytestmark = pytest.mark.django_db


def test_the_gdpr_action_deletes_every_event_of_the_selected_sessions(admin_client, client, site):
    post(client, beacon(session="visitor1"))
    post(client, beacon(session="visitor2"))
    fold.roll_up()
    one = Event.objects.filter(session_id="visitor1").first()
    response = admin_client.post(
        "/admin/rum/event/",
        {"action": "forget_sessions", "_selected_action": [one.pk]},
        follow=True,
    )
    assert "Deleted 6 events of 1 session(s)." in response.content.decode()
    assert set(Event.objects.values_list("session_id", flat=True)) == {"visitor2"}
    fold.roll_up()
    assert Rollup.objects.get(metric="PV").count == 1


def test_a_site_shows_its_script_tag(admin_client, site):
    response = admin_client.get(f"/admin/rum/site/{site.pk}/change/")
    assert 'data-site-key="shop-key"' in response.content.decode().replace("&quot;", '"')


def test_a_site_refuses_an_origin_with_a_path(admin_client):
    response = admin_client.post(
        "/admin/rum/site/add/",
        {"name": "Bad", "public_key": "bad-key", "allowed_origins": "https://x.example.com/app",
         "sample_rate": "1"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "is not an origin like" in response.content.decode()
    assert not Site.objects.filter(name="Bad").exists()


def test_the_events_filters_list_no_name_a_client_made_up(admin_client, client, site):
    custom = [{"id": f"c{n}", "type": "custom", "name": f"made-up-{n}"} for n in range(30)]
    post(client, beacon(custom))
    body = admin_client.get("/admin/rum/event/").content.decode()
    assert "?vital=LCP" in body
    assert "name__exact" not in body and "?name=" not in body

    filtered = admin_client.get("/admin/rum/event/?vital=LCP")
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 0


def test_the_event_list_counts_no_further_than_its_bound_and_scans_nothing(
    admin_client, client, site
):
    for _ in range(3):
        post(client, beacon())
    newest = Event.objects.latest("id")
    with CaptureQueriesContext(connection) as captured:
        filtered = admin_client.get("/admin/rum/event/?device=desktop&rating=good")
        response = admin_client.get("/admin/rum/event/")
    assert filtered.context["cl"].result_count == Event.objects.filter(rating="good").count() > 0
    assert response.context["cl"].result_count == 18
    assert response.context["cl"].result_list[0].pk == newest.pk

    on_events = [q["sql"].upper() for q in captured if '"RUM_EVENT"' in q["sql"].upper()]
    assert on_events
    for sql in on_events:
        assert "DISTINCT" not in sql
        if "COUNT(" in sql:
            assert "LIMIT 10001" in sql


def test_past_its_bound_the_event_list_says_an_estimate(admin_client, client, site, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_UP_TO", 4)
    post(client, beacon())
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/admin/rum/event/")
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    if connection.vendor == "postgresql":
        assert response.context["cl"].result_count >= 5
        assert all("LIMIT 5" in sql for sql in counts if "rum_event" in sql)
    else:
        assert response.context["cl"].result_count == 6
    assert len(response.context["cl"].result_list) == 6


def test_the_event_list_finds_a_sessions_events_by_its_exact_id(admin_client, client, site):
    post(client, beacon(session="visitor-1"))
    post(client, beacon(session="visitor-2"))
    response = admin_client.get("/admin/rum/event/?q=visitor-1")
    found = response.context["cl"].result_list
    assert {event.session_id for event in found} == {"visitor-1"}
    assert len(found) == Event.objects.filter(session_id="visitor-1").count() == 6
    assert admin_client.get("/admin/rum/event/?q=visitor").context["cl"].result_count == 0
