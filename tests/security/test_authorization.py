"""Who may read and change what: every URL and every admin action, as five people.

The walk is generic: it reads the project's URLconf, the dashboard registry and
the admin's registry, so a URL, dashboard, model or action added later is
walked too. Only public endpoints and the admin's own pages are named here,
with what they answer.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import transaction
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.views import APIView

from config import dashboards
from tests.security.rows import every_row, snapshot

IDENTITIES = ["anonymous", "member", "staff", "viewer", "superuser"]
OUTSIDERS = ("anonymous", "member")  # not staff: the admin sends them to its login
LOGIN = "/admin/login/"

# Endpoints anyone may call, by route, with the statuses they answer per method.
PUBLIC = {
    "": {"GET": {302}},  # to the admin
    "healthz": {"GET": {200, 503}},  # 503 while the beat heartbeat is missing
    "metrics": {"GET": {403}},  # a bearer token or an allowed address, never a login
    "api/schema/": {"GET": {200}},
    "api/rum/beacon/": {"GET": {405}, "POST": {400, 403, 415}},  # the walk posts a form
    "alerts/ack/<str:token>/": {"GET": {400}, "POST": {400}},  # a forged token
    "alerts/sink/<int:channel_id>/": {"GET": {405}, "POST": {403, 404}},  # unsigned
    "rum/demo/": {"GET": {200, 404}},  # 404 until the demo site exists
    "rum/demo/products/<int:product_id>/": {"GET": {200, 404}},
}

# The admin's own pages (not a model's), GET, per identity; the superuser is
# answered as the viewer, an outsider not listed is sent to the login.
ADMIN_PAGES = {
    "admin:login": {"anonymous": 200, "member": 200, "staff": 302, "viewer": 302},
    "admin:logout": {"anonymous": 302, "member": 302, "staff": 405, "viewer": 405},  # POST
    "admin:index": {"staff": 200, "viewer": 200},
    "admin:password_change": {"staff": 200, "viewer": 200},  # one's own password
    "admin:password_change_done": {"staff": 200, "viewer": 200},
    "admin:jsi18n": {"staff": 200, "viewer": 200},
    "admin:autocomplete": {"staff": 403, "viewer": 403},  # no field named: refused
    "admin:app_list": {"staff": 404, "viewer": 200},
    "admin:view_on_site": {"staff": 404, "viewer": 404},  # no model has a public page
}

# Admin actions whose effect is outside the database and the outbox.
EFFECT_ELSEWHERE = {
    "run_tasks",  # sends the periodic tasks to the broker
    "cleanup_expired_attempts",  # django-axes already cleans them up at every login
}


@pytest.fixture
def rows(db):
    return every_row()


@pytest.fixture
def users(django_user_model, rows):
    make = django_user_model.objects.create_user
    viewer = make("viewer", is_staff=True)
    # Every view_* permission: the models' and the dashboards' own.
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return {
        "anonymous": None,
        "member": make("member"),
        "staff": make("staff", is_staff=True),
        "viewer": viewer,
        "superuser": django_user_model.objects.create_superuser("root", "root@example.com", None),
    }


@pytest.fixture
def as_(client, users, settings):
    settings.MONITORING_ENABLED = False  # no metric rows written behind the test's back
    client.raise_request_exception = False  # an exception is a 500 in the report

    def login(identity):
        client.logout()
        if users[identity] is not None:
            client.force_login(users[identity])
        return client

    return login


def _patterns(resolver=None, prefix="", namespace=""):
    """(route, name, pattern) for every URL pattern, the admin's included."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, route, ns)
        elif isinstance(entry, URLPattern):
            yield route, f"{namespace}{entry.name}" if entry.name else None, entry


def _admin_model(name: str | None):
    """The registered model whose admin URL this is, and the URL's suffix."""
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name and name.startswith(prefix):
            return model, name[len(prefix) :]
    return None, None


def _kwargs_choices(name, pattern, rows):
    """Each set of path parameters to try: existing objects' ids, every dashboard, every app."""
    params = list(pattern.pattern.converters) or list(pattern.pattern.regex.groupindex)
    if "slug" in params:
        return [{"slug": page.slug} for page in dashboards.pages()]
    if "app_label" in params:
        labels = sorted({m._meta.app_label for m in admin.site._registry})
        return [{"app_label": label} for label in labels]
    model, _ = _admin_model(name)
    if "content_type_id" in params:
        model = next(iter(admin.site._registry))
        content_type = ContentType.objects.get_for_model(model)
        return [{"content_type_id": content_type.pk, "object_id": rows[model].pk}]
    by_name = {m._meta.model_name: obj for m, obj in rows.items()}
    kwargs = {}
    for param in params:
        if model is not None and (param in ("id", "object_id") or param.endswith("_id")):
            kwargs[param] = rows[model].pk
        elif param.endswith("_id") and param[:-3] in by_name:
            kwargs[param] = by_name[param[:-3]].pk
        elif param.endswith("_id"):
            kwargs[param] = 1
        else:
            kwargs[param] = "forged"
    return [kwargs]


def _fill(route, kwargs):
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m[1]]), route)


def _urls(rows):
    """(route, name, url, kind, view class) for every URL of the project."""
    for route, name, pattern in _patterns():
        if name is None and route.startswith("admin/"):
            continue  # the admin's catch-all: the login, or a 404, for unknown addresses
        view = getattr(pattern.callback, "cls", None)
        if route in PUBLIC:
            kind = "public"
        elif name and name.startswith("admin:"):
            kind = "admin"
        elif view is not None and issubclass(view, APIView):
            kind = "api"
        else:
            kind = "unclassified"
        for kwargs in _kwargs_choices(name, pattern, rows):
            url = reverse(name, kwargs=kwargs) if name else _fill(route, kwargs)
            yield route, name, url, kind, view


def _expected_api(identity, method):
    if method == "GET":
        readers = {"viewer": {200}, "superuser": {200}}
        return readers.get(identity, {401, 403} if identity == "anonymous" else {403})
    # Nobody but the superuser gets past the permission; it is told what the empty body lacks.
    return {"anonymous": {401, 403}, "superuser": {400}}.get(identity, {403})


def _expected_dashboard(identity, url):
    """Staff need the page's permission; a page may first redirect to add its default
    range, and a drill-down asked without its subject answers 400 or 404."""
    if identity in OUTSIDERS:
        return {302}
    if identity == "staff":
        return {403}
    page = dashboards.get_page(url.rstrip("/").rsplit("/", 1)[-1])
    return {200, 302} if page.nav else {200, 302, 400, 404}


def _expected_admin_get(identity, name, url, superuser_request):
    if name == "admin:dashboard":
        return _expected_dashboard(identity, url)
    if name in ADMIN_PAGES:
        table = ADMIN_PAGES[name]
        if identity == "superuser":
            return {table["viewer"]}
        return {table.get(identity, 302)}  # an outsider not listed is sent to the login
    if identity in OUTSIDERS:
        return {302}
    model, suffix = _admin_model(name)
    assert model is not None, f"{name}: an admin URL neither a model's nor in ADMIN_PAGES"
    model_admin = admin.site._registry[model]
    if suffix in ("changelist", "change", "history"):
        return {"staff": {403}, "viewer": {200}, "superuser": {200}}[identity]
    if suffix in ("add", "delete"):
        if identity != "superuser":
            return {403}
        allowed = getattr(model_admin, f"has_{suffix}_permission")(superuser_request)
        return {200} if allowed else {403}  # some models are never added or deleted by hand
    # A model admin's own page (import, preview, acknowledge ...); POST-only ones answer 405.
    return {"staff": {403, 405}, "viewer": {200, 403, 405}, "superuser": {200, 405}}[identity]


def _expected_admin_post(identity, name):
    """What a POST with no data gets from an admin page that changes things; None: not walked.

    Whoever lacks the permission is refused before the form is read. The
    superuser may be shown the form again with its errors: nothing to assert.
    """
    if name in ADMIN_PAGES or name == "admin:dashboard" or identity == "superuser":
        return None  # logging in and out, one's own password, read-only pages
    _, suffix = _admin_model(name)
    if suffix in ("changelist", "history"):
        return None  # reading only; the changelist's actions are walked below
    return {302} if identity in OUTSIDERS else {403, 405}


def _wrong_redirect(response, name, identity, url) -> bool:
    """The admin sends outsiders to its login; a dashboard redirects only to itself."""
    location = response["Location"]
    if identity in OUTSIDERS and name not in ADMIN_PAGES:
        return not location.startswith(LOGIN)
    if name == "admin:dashboard":
        return not (location.startswith("?") or location.startswith(url))
    return False


@pytest.mark.parametrize("identity", IDENTITIES)
def test_every_url_answers_each_identity_as_its_permissions_say(as_, rows, users, identity):
    client = as_(identity)
    superuser_request = RequestFactory().get("/")
    superuser_request.user = users["superuser"]
    before = snapshot()
    wrong, walked = [], 0
    for route, name, url, kind, view in _urls(rows):
        assert kind != "unclassified", (
            f"{route} is neither under admin/, nor a DRF API view, nor in PUBLIC: "
            "protect it, or list it as public with its expected answers"
        )
        for method in ("GET", "POST"):
            if kind == "public":
                expected = PUBLIC[route].get(method)
            elif kind == "api":
                handles = hasattr(view, method.lower())
                expected = _expected_api(identity, method) if handles else None
            elif method == "GET":
                expected = _expected_admin_get(identity, name, url, superuser_request)
            else:
                expected = _expected_admin_post(identity, name)
            if expected is None:
                continue
            walked += 1
            if kind == "api" and method == "POST":  # the staff API takes JSON only
                response = client.post(url, {}, content_type="application/json")
            else:
                response = getattr(client, method.lower())(url)
            if response.status_code not in expected:
                wrong.append(f"{method} {url}: {response.status_code}, expected {expected}")
            elif (
                response.status_code == 302
                and kind == "admin"
                and _wrong_redirect(response, name, identity, url)
            ):
                wrong.append(f"{method} {url}: redirects to {response['Location']}")
    assert walked > 100
    assert not wrong, "\n".join(wrong)
    if identity != "superuser":
        assert snapshot() == before, f"requests of {identity} changed data"
        assert not mail.outbox


def _actions():
    """(model, admin, action name, action) for every action of every registered model admin."""
    for model, model_admin in admin.site._registry.items():
        for func, name, _description in model_admin._get_base_actions():
            yield model, model_admin, name, func


def _run_action(client, model, name, pk):
    """POST the action as the changelist's form does; did it change data or send mail?

    Rolled back after, so that the next action finds the same rows.
    """
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    mail.outbox = []
    with transaction.atomic():
        before = snapshot()
        response = client.post(url, {"action": name, "_selected_action": [pk], "post": "yes"})
        changed = snapshot() != before or bool(mail.outbox)
        transaction.set_rollback(True)
    return response, changed


@pytest.mark.parametrize("identity", IDENTITIES)
def test_an_admin_action_changes_data_only_for_who_has_its_permission(as_, rows, users, identity):
    client = as_(identity)
    superuser_request = RequestFactory().get("/")
    superuser_request.user = users["superuser"]
    undeclared, refused_not, not_done = [], [], []
    for model, model_admin, name, func in _actions():
        label = f"{model._meta.label}.{name}"
        if set(getattr(func, "allowed_permissions", ())) <= {"view"}:
            undeclared.append(label)
        response, changed = _run_action(client, model, name, rows[model].pk)
        if identity != "superuser" and changed:
            refused_not.append(f"{label} ({response.status_code})")
        offered = name in model_admin.get_actions(superuser_request)
        if identity == "superuser" and offered and name not in EFFECT_ELSEWHERE and not changed:
            not_done.append(f"{label} ({response.status_code})")
    assert not refused_not, f"{identity} changed data through admin actions: {refused_not}"
    assert not not_done, f"the superuser's actions changed nothing: {not_done}"
    assert not undeclared, f"actions that declare no change-level permission: {undeclared}"


def test_an_admin_action_works_for_staff_holding_its_models_permissions(
    as_, rows, users, django_user_model
):
    """Not only for the superuser: the permissions on the action's own model are enough.

    (Django's delete_selected also needs the delete permission of whatever the
    deletion cascades to; the superuser walk covers it.)
    """
    client = as_("anonymous")
    superuser_request = RequestFactory().get("/")
    superuser_request.user = users["superuser"]
    not_done = []
    for model, model_admin, name, _func in _actions():
        offered = name in model_admin.get_actions(superuser_request)
        if name == "delete_selected" or name in EFFECT_ELSEWHERE or not offered:
            continue
        label = f"{model._meta.label}.{name}"
        editor = django_user_model.objects.create_user(f"editor-{label}", is_staff=True)
        content_type = ContentType.objects.get_for_model(model)
        editor.user_permissions.set(Permission.objects.filter(content_type=content_type))
        client.force_login(editor)
        response, changed = _run_action(client, model, name, rows[model].pk)
        if not changed:
            not_done.append(f"{label} ({response.status_code})")
    assert not not_done, f"actions refused to staff with their model's permissions: {not_done}"
