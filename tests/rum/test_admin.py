import pytest

from rum import rollups
from rum.models import Event, Rollup, Site
from tests.rum.conftest import beacon, post

pytestmark = pytest.mark.django_db


def test_the_gdpr_action_deletes_every_event_of_the_selected_sessions(admin_client, client, site):
    post(client, beacon(session="visitor1"))
    post(client, beacon(session="visitor2"))
    rollups.roll_up()
    one = Event.objects.filter(session_id="visitor1").first()
    response = admin_client.post(
        "/admin/rum/event/",
        {"action": "forget_sessions", "_selected_action": [one.pk]},
        follow=True,
    )
    assert "Deleted 6 events of 1 session(s)." in response.content.decode()
    assert set(Event.objects.values_list("session_id", flat=True)) == {"visitor2"}
    rollups.roll_up()
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
