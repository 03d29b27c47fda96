"""Our pages send a Content-Security-Policy and a Permissions-Policy; charts carry no inline
script and nothing that offers to send their data to a third party."""

from html.parser import HTMLParser
from pathlib import Path

import plotly.graph_objects as go
import pytest

from config import dashboards
from monitoring.models import QueryFingerprint
from rum.models import Site
from rum.views import DEMO_SITE_NAME

pytestmark = pytest.mark.django_db

STATIC = Path(__file__).resolve().parents[2] / "static"


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class ScriptsAndHandlers(HTMLParser):
    """Collects inline <script> blocks that would run, and on* event-handler attributes."""

    def __init__(self):
        super().__init__()
        self.inline, self.handlers, self.data_blocks = [], [], 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]
        if tag == "script":
            if attrs.get("type") == "application/json":
                self.data_blocks += 1
            elif "src" not in attrs:
                self._in_script = True
                self.inline.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline[-1] += data


def scan(html: str) -> ScriptsAndHandlers:
    parser = ScriptsAndHandlers()
    parser.feed(html)
    return parser


@pytest.fixture
def chart_page():
    @dashboards.page("csp-test", "CSP test", permission="core.view_overview")
    def view(request, ctx):
        figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="</script><script>alert(1)"))
        return ctx.render("dashboards/generic.html", {"figures": [figure]})

    yield "/admin/dashboards/csp-test/"
    dashboards.unregister("csp-test")


@pytest.mark.parametrize("url", ["/admin/", "/admin/login/", "/healthz"])
def test_pages_send_a_content_security_policy_without_inline_scripts(admin_client, url):
    found = policy(admin_client.get(url))
    assert found["default-src"] == ["'self'"]
    assert found["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert found["connect-src"] == ["'self'"]
    assert found["form-action"] == ["'self'"]
    assert found["frame-ancestors"] == ["'none'"]
    assert found["base-uri"] == ["'self'"]
    assert found["object-src"] == ["'none'"]


def test_pages_turn_off_browser_features_they_never_use(admin_client):
    header = admin_client.get("/admin/")["Permissions-Policy"]
    features = dict(item.strip().split("=") for item in header.split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"


def test_a_chart_is_json_data_drawn_by_a_static_script(admin_client, chart_page):
    html = admin_client.get(chart_page).text
    found = scan(html)
    assert found.inline == []
    assert found.handlers == []
    assert found.data_blocks == 1
    assert "plotly-graph-div" in html
    assert "dashboards/charts.js" in html
    # The trace name is data, escaped inside the JSON block, never markup.
    assert "</script><script>alert(1)" not in html


def test_the_chart_script_never_offers_to_send_a_chart_to_the_cloud():
    source = (STATIC / "dashboards" / "charts.js").read_text()
    for setting in (
        "showSendToCloud: false",
        "showEditInChartStudio: false",
        "showLink: false",
        'plotlyServerURL: ""',
    ):
        assert setting in source


def test_templates_and_static_scripts_name_no_third_party_host():
    root = STATIC.parent
    files = [*root.glob("templates/**/*.html"), *STATIC.glob("*/*.js")]
    offenders = [
        str(f.relative_to(root))
        for f in files
        if f.name != "rum.js" and any(s in f.read_text() for s in ("plot.ly", "plotly.com"))
    ]
    assert offenders == []


def test_the_statement_page_has_no_inline_script(admin_client):
    QueryFingerprint.objects.create(
        fingerprint="c" * 16,
        statement="SELECT 1",
        first_seen="2026-01-01T00:00Z",
        last_seen="2026-01-01T00:00Z",
    )
    response = admin_client.get(f"/admin/dashboards/performance-query/?fingerprint={'c' * 16}")
    assert response.status_code == 200
    found = scan(response.text)
    assert (found.inline, found.handlers) == ([], [])


def test_the_rum_demo_page_runs_no_inline_script(client, settings):
    settings.RUM_DEMO_PAGE = True
    Site.objects.create(name=DEMO_SITE_NAME, public_key="csp-key")
    response = client.get("/rum/demo/")
    assert response.status_code == 200
    found = scan(response.text)
    assert (found.inline, found.handlers) == ([], [])


def admin_urls():
    from django.contrib import admin
    from django.urls import reverse

    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        yield reverse("admin:{}_{}_changelist".format(*info))
        yield reverse("admin:{}_{}_add".format(*info))


def test_no_admin_page_runs_an_inline_script(admin_client):
    offenders = {}
    for url in admin_urls():
        response = admin_client.get(url)
        if response.status_code != 200:
            continue
        found = scan(response.text)
        if found.inline or found.handlers:
            offenders[url] = (found.inline, found.handlers)
    assert offenders == {}
