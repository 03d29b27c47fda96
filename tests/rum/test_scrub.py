"""URLs inside free text lose their query string and fragment, before anything uses the text."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rum.beacon import fingerprint
from rum.models import Event
from rum.normalise import scrub_urls
from tests.rum.conftest import beacon, post, vital

BASES = [
    "https://shop.example/static/app.js",
    "https://shop.example",
    "http://user:pw@shop.example:8443/a;b=c/d.js",
    "webpack://shop/./src/cart.js",
    "blob:https://shop.example/4f1c-9a2e",
    "data:text/javascript;base64,YWxlcnQoMSk=",
    "//cdn.example/lib.min.js",
    "/static/app.js",
    "chrome-extension://abcdef/content.js",
    "https://shop.example/caf%C3%A9/m%C3%BCnchen.js",
]
# Where a URL sits in the text: a stack frame (Chrome, Firefox), quotes, brackets, a selector.
PLACES = [
    "TypeError: x is undefined\n    at pay ({url}:10:5)\n    at {url}:20:7",
    "pay@{url}:10:5\n@{url}:1:1",
    'Failed to load "{url}" (network)',
    "Failed to load '{url}'",
    "see ({url}) and [{url}] or <{url}>",
    'img[src="{url}"]',
    "{url}",
    "GET {url} failed",
]
# Characters a query string or fragment may hold, hostile ones first.
QUERY_TEXT = st.lists(
    st.one_of(
        st.sampled_from(list(":/@;&=?#%+,.!$*~-_{}|^\\") + ["%3A", "%2F", "%40", "%23", "%3F"]),
        st.characters(categories=["L", "N"]),
    ),
    max_size=15,
).map("".join)
SECRET = "SeCrEtMaRk"


def hostile_url(base: str, query: str, fragment: str | None) -> str:
    url = f"{base}?{query}{SECRET}"
    if fragment is not None:
        url += f"#{fragment}{SECRET}"
    return url


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(BASES),
    place=st.sampled_from(PLACES),
    query=QUERY_TEXT,
    fragment=st.one_of(st.none(), QUERY_TEXT),
)
@example(
    base=BASES[0],
    place=PLACES[0],
    query="return=https://shop.example/cart&email=a@b.c&token=",
    fragment=None,
)
def test_no_query_or_fragment_survives_wherever_the_url_is(base, place, query, fragment):
    text = place.format(url=hostile_url(base, query, fragment))
    scrubbed = scrub_urls(text)
    assert SECRET not in scrubbed
    assert scrubbed == place.format(url=base)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at f (https://x.example/a.js?q=(secret):3:4)", "at f (https://x.example/a.js:3:4)"),
        ("https://x.example/?filter[email]=a@b.c&x=1", "https://x.example/"),
        ("https://x.example/a#/route?token=t", "https://x.example/a"),
        # Not URLs: questions, ids in selectors, pseudo-classes.
        ("Is it null? Really?", "Is it null? Really?"),
        ("main>div#banner>img.hero", "main>div#banner>img.hero"),
        ("ul>li:nth-child(2)>a#more", "ul>li:nth-child(2)>a#more"),
    ],
)
def test_brackets_inside_a_query_and_text_that_is_no_url(text, expected):
    assert scrub_urls(text) == expected


@settings(max_examples=200, deadline=None)
@given(base=st.sampled_from(BASES), one=QUERY_TEXT, other=QUERY_TEXT)
def test_stacks_differing_only_in_query_strings_share_one_fingerprint(base, one, other):
    frame = "TypeError: boom\n    at pay ({url}:10:5)"
    first = scrub_urls(frame.format(url=hostile_url(base, one, None)))
    second = scrub_urls(frame.format(url=hostile_url(base, other, "f")))
    message = scrub_urls(f"boom at {hostile_url(base, one, None)}")
    other_message = scrub_urls(f"boom at {hostile_url(base, other, None)}")
    assert fingerprint(message, first, base, 10) == fingerprint(other_message, second, base, 10)


LEAK = "?return=https://shop.example/cart&email=jane@example.com&token=tok-8f3a2"


def error(n: int, url: str) -> dict:
    return {
        "id": f"err{n}",
        "type": "error",
        "message": f"Uncaught TypeError: failed at {url}",
        "source": url,
        "line": 10,
        "column": 5,
        "stack": f"TypeError: failed\n    at pay ({url}:10:5)\n    at {url}:20:7",
    }


def test_stored_rows_keep_no_query_string_anywhere_and_one_group_per_bug(client, site):
    app = "https://shop.example.com/static/app.js"
    events = [
        {
            "id": "pv",
            "type": "pageview",
            "title": f"Cart (https://shop.example.com/cart{LEAK})",
            "referrer": f"https://mail.example.org/open{LEAK}",
        },
        vital(
            "LCP",
            2100.0,
            attribution={
                "target": f'img[src="https://cdn.example.com/hero.jpg{LEAK}"]',
                "url": f"https://cdn.example.com/hero.jpg{LEAK}#top",
            },
        ),
        {
            "id": "c1",
            "type": "custom",
            "name": "share",
            "value": 1.0,
            "attrs": {"link": f"https://shop.example.com/p/1{LEAK}", "note": f"from /x{LEAK}"},
        },
        error(1, f"{app}{LEAK}"),
        error(2, f"{app}?return=https://other.example/&email=joe@example.com&token=tok-77"),
    ]
    assert post(client, beacon(events)).status_code == 202

    rows = list(Event.objects.values())
    assert len(rows) == 5
    stored = repr(rows)
    for secret in ("jane@example.com", "joe@example.com", "tok-8f3a2", "tok-77", "return="):
        assert secret not in stored
    errors = Event.objects.filter(kind="error").order_by("event_key")
    assert {e.fingerprint for e in errors} == {errors[0].fingerprint}
    assert errors[0].detail["stack"].splitlines()[1] == f"    at pay ({app}:10:5)"
    assert errors[0].detail["source"] == app
    lcp = Event.objects.get(name="LCP")
    assert lcp.target == 'img[src="https://cdn.example.com/hero.jpg"]'
    assert lcp.detail["attribution"]["url"] == "https://cdn.example.com/hero.jpg"
