import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from alerts.forms import format_pairs, parse_pairs

names = st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True)
values = st.from_regex(r"[A-Za-z0-9/<>:._ -]{0,30}[A-Za-z0-9/<>:._-]", fullmatch=True)


@given(st.dictionaries(names, values, max_size=6))
def test_pairs_survive_a_round_trip_through_the_form(pairs):
    cleaned = {k: v.strip() for k, v in pairs.items()}
    assert parse_pairs(format_pairs(cleaned)) == cleaned


@pytest.mark.parametrize(
    ("text", "message"),
    [("route", "is not name=value"), ("=x", "is not name=value"), ("a=1, a=2", "given twice")],
)
def test_malformed_pairs_are_refused_with_the_reason(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_pairs(text)


def test_pairs_may_be_separated_by_new_lines():
    assert parse_pairs("vital=LCP\nroute=/api/orders/<int:pk>/") == {
        "vital": "LCP",
        "route": "/api/orders/<int:pk>/",
    }
