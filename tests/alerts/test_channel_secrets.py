"""Channel secrets (webhook signing keys, Slack URLs) are write-only in the admin."""

import pytest
from django.contrib.auth.models import Permission

from alerts.models import Channel

pytestmark = pytest.mark.django_db

SECRET = "s3cret-signing-key-0123456789-wxyz"
SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/tokenTOKENtoken9876"


@pytest.fixture
def channels():
    hook = Channel.objects.create(
        name="Hook", kind="webhook", target="https://93.184.215.14/hook", secret=SECRET
    )
    chat = Channel.objects.create(name="Chat", kind="slack", target=SLACK_URL)
    return hook, chat


@pytest.fixture
def viewer_client(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_channel", content_type__app_label="alerts")
    )
    client.force_login(user)
    return client


def pages(client, channels) -> str:
    hook, chat = channels
    urls = [
        "/admin/alerts/channel/",
        f"/admin/alerts/channel/{hook.pk}/change/",
        f"/admin/alerts/channel/{chat.pk}/change/",
    ]
    responses = [client.get(url) for url in urls]
    assert [r.status_code for r in responses] == [200, 200, 200]
    return " ".join(r.text for r in responses)


@pytest.mark.parametrize("who", ["viewer_client", "admin_client"])
def test_secrets_never_appear_only_their_last_four_characters(request, who, channels):
    html = pages(request.getfixturevalue(who), channels)
    assert SECRET not in html and SECRET[:-4] not in html
    assert "tokenTOKENtoken" not in html and "T0000/B0000" not in html
    assert "••••wxyz" in html and "••••9876" in html


def test_a_view_only_user_cannot_find_a_slack_url_by_searching(viewer_client, channels):
    response = viewer_client.get("/admin/alerts/channel/", {"q": "tokenTOKEN"})
    assert "Chat" not in response.text.split('id="result_list"')[-1]
    response = viewer_client.get("/admin/alerts/channel/", {"q": "93.184.215.14"})
    assert "Hook" in response.text.split('id="result_list"')[-1]


def edit(admin_client, channel, **fields):
    form = {
        "name": channel.name,
        "kind": channel.kind,
        "target": "",
        "payload_format": channel.payload_format,
        "new_secret": "",
        "enabled": "on",
        **fields,
    }
    response = admin_client.post(f"/admin/alerts/channel/{channel.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    channel.refresh_from_db()
    return channel


def test_leaving_the_fields_empty_keeps_the_secrets(admin_client, channels):
    hook, chat = channels
    assert edit(admin_client, hook, target=hook.target, name="Hook 2").secret == SECRET
    assert edit(admin_client, chat, name="Chat 2").target == SLACK_URL


def test_a_secret_can_be_set_or_rotated(admin_client, channels):
    hook, chat = channels
    assert edit(
        admin_client, hook, target=hook.target, new_secret="a-new-key-of-16-chars"
    ).secret == ("a-new-key-of-16-chars")
    rotated = edit(admin_client, hook, target=hook.target, rotate_secret="on").secret
    assert rotated != "a-new-key-of-16-chars" and len(rotated) >= 32
    new_url = "https://hooks.slack.com/services/T1/B1/other"
    assert edit(admin_client, chat, target=new_url).target == new_url


def test_a_short_secret_is_refused(admin_client, channels):
    hook, _ = channels
    form = {"name": "Hook", "kind": "webhook", "target": hook.target, "payload_format": "json"}
    response = admin_client.post(
        f"/admin/alerts/channel/{hook.pk}/change/", {**form, "new_secret": "short"}
    )
    assert "at least 16 characters" in " ".join(
        response.context["adminform"].form.errors["new_secret"]
    )
    hook.refresh_from_db()
    assert hook.secret == SECRET
