"""Whatever a staff member puts in a dashboard's query string, the answer is a page or a 4xx.

The pages come from the dashboard registry, so a page added later is covered too; the
parameter names are those the pages themselves put in their forms and links, plus the
usual suspects.
"""

from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import dashboards
from dataquality.models import Statement
from monitoring.models import QueryFingerprint
from rum.models import Site
from tests.dataquality.helpers import balance_sheet, load_csv

pytestmark = pytest.mark.django_db

COMMON = {"range", "start", "end", "export", "page", "p", "offset", "limit", "sort", "q", "o"}
NUL = "/\x00"
HUGE = "9" * 20
HOSTILE = [
    "",
    "\x00",
    NUL,
    "-1",
    "0",
    HUGE,
    "-" + HUGE,
    "1e309",
    "NaN",
    "²",
    "٣",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "x" * 5000,
]


def url_of(slug: str) -> str:
    return f"/admin/dashboards/{slug}/"


class ParamNames(HTMLParser):
    """Names of a page's form fields, and of the parameters of its links to each page."""

    def __init__(self, own_slug: str):
        super().__init__()
        self.own_slug = own_slug
        self.by_slug: dict[str, set[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select") and attrs.get("name"):
            self.by_slug.setdefault(self.own_slug, set()).add(attrs["name"])
        href = urlsplit(attrs.get("href") or "") if tag == "a" else None
        if href and href.query:
            slug = href.path.rstrip("/").rsplit("/", 1)[-1] if href.path else self.own_slug
            names = {name for name, _ in parse_qsl(href.query)}
            self.by_slug.setdefault(slug, set()).update(names)


_discovered: dict[str, set[str]] = {}


def page_params(client, slug: str, seeded: dict) -> list[str]:
    """What the pages themselves put in their forms and links (read once per run), and the
    drill-down parameters the seeded objects answer to."""
    if not _discovered:
        for page in dashboards.pages():
            parser = ParamNames(page.slug)
            parser.feed(client.get(url_of(page.slug), {"range": "30d"}).content.decode())
            for target, names in parser.by_slug.items():
                _discovered.setdefault(target, set()).update(names)
    names = _discovered.get(slug, set()) | COMMON | set(seeded)
    return sorted(names - {"csrfmiddlewaretoken"})


@pytest.fixture
def seeded(db):
    """One of each thing a drill-down page is about, so valid ids reach the deep code."""
    fingerprint = QueryFingerprint.objects.create(
        fingerprint="f" * 16,
        statement="SELECT 1",
        first_seen="2026-01-01T00:00Z",
        last_seen="2026-01-01T00:00Z",
    )
    load_csv(balance_sheet("Acme"))
    statement = Statement.objects.get()
    site = Site.objects.create(name="Shop", public_key="hostile-key")
    return {
        "fingerprint": fingerprint.fingerprint,
        "statement": str(statement.pk),
        "entity": str(statement.entity_id),
        "site": str(site.pk),
        "page": "/",
        "route": "/api/orders/<int:pk>/",
        "method": "GET",
    }


def value_for(seeded: dict, name: str):
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.sampled_from([seeded.get(name, "1")]),
        st.integers(min_value=-(10**25), max_value=10**25).map(str),
        st.text(max_size=30),
        st.datetimes(min_value=datetime(1, 1, 1)),  # noqa: DTZ001  (a naive moment, as typed).map(lambda d: d.isoformat()[:16]),
    )


def assert_no_server_error(client, url, params):
    response = client.get(url, params)
    assert response.status_code < 500, (url, params, response.status_code)
    return response


KNOWN = [
    {"range": "custom", "start": "9999-12-30T00:00", "end": "9999-12-31T23:59"},
    {"range": "custom", "start": "0001-01-01T00:00", "end": "0001-01-02T00:00"},
    {"page": NUL},
    {"offset": HUGE, "p": HUGE, "page": HUGE},
]


@pytest.mark.parametrize("slug", [p.slug for p in dashboards.pages()])
def test_hostile_query_parameters_never_cause_a_server_error(admin_client, seeded, slug):
    for params in KNOWN:
        response = assert_no_server_error(admin_client, url_of(slug), params)
        if "start" in params:
            assert response.status_code == 400
            assert "between 1970-01-01 and" in response.content.decode()
    names = page_params(admin_client, slug, seeded)
    # Every filter of the page at once with each hostile value, in a range that parses.
    filters = [name for name in names if name not in ("range", "start", "end", "export")]
    for value in HOSTILE:
        assert_no_server_error(
            admin_client, url_of(slug), {"range": "24h", **dict.fromkeys(filters, value)}
        )

    @settings(
        max_examples=10,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.data())
    def check(data):
        chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
        params = {name: data.draw(value_for(seeded, name), label=name) for name in chosen}
        assert_no_server_error(admin_client, url_of(slug), params)

    check()


def test_the_overview_says_what_is_wrong_with_a_far_out_range(admin_client):
    for params in KNOWN[:2]:
        response = assert_no_server_error(admin_client, "/admin/", params)
        assert "between 1970-01-01 and" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/dashboards/web-vitals-page/?page=%2F%00",
        "/admin/auth/user/?q=%00",
        "/api/rum/summary/?%00=1",
    ],
)
def test_a_nul_byte_in_the_query_string_is_a_bad_request_that_says_so(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_20_digit_page_number_on_an_admin_list_is_no_error(admin_client):
    assert_no_server_error(admin_client, "/admin/auth/user/", {"p": HUGE})


def test_a_20_digit_offset_is_refused_by_the_api(admin_client):
    response = admin_client.get("/api/dataquality/reports/", {"offset": HUGE})
    assert response.status_code == 400
    assert "offset" in response.json()


def test_a_silence_prefilled_from_a_bad_link_opens_empty(admin_client):
    response = admin_client.get("/admin/alerts/silence/add/", {"rule": "²"})
    assert response.status_code == 200
