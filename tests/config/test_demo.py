import io

import pytest
from django.core.management import call_command

from config.demo import DEMO_PASSWORD, DEMO_USERNAME


@pytest.mark.django_db
def test_demo_data_gives_a_working_superuser_login_even_after_a_password_change(client):
    call_command("load_demo_data", stdout=io.StringIO())
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=DEMO_USERNAME)
    user.set_password("changed")
    user.save()

    call_command("load_demo_data", stdout=io.StringIO())

    # Through the login form: the lockout backend needs the request.
    response = client.post("/admin/login/", {"username": DEMO_USERNAME, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
