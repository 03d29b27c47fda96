"""One rule for the client's address: X-Forwarded-For only from trusted proxies."""

import pytest
from django.core.checks import run_checks
from django.test import RequestFactory

from config.client_address import client_address

factory = RequestFactory()


def address(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(factory.get("/", **extra))


def test_a_forwarded_header_from_an_untrusted_client_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert address("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    # The client wrote a fake first hop; the proxies appended the real ones.
    assert address("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.5") == "198.51.100.7"
    assert address("127.0.0.1", "198.51.100.7") == "198.51.100.7"
    # Only proxies in the chain: the left-most is as far as we can see.
    assert address("10.0.0.2", "10.0.0.9, 10.0.0.5") == "10.0.0.9"
    # No header: the proxy itself.
    assert address("10.0.0.2") == "10.0.0.2"


def test_a_malformed_hop_stops_the_walk(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address("10.0.0.2", "198.51.100.7, not-an-ip") == "10.0.0.2"


def test_ipv6_and_ipv4_mapped_proxies(settings):
    settings.TRUSTED_PROXIES = ["::1", "127.0.0.1"]
    assert address("::1", "2001:db8::5") == "2001:db8::5"
    assert address("::ffff:127.0.0.1", "198.51.100.7") == "198.51.100.7"


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "proxy.example"])
def test_an_invalid_trusted_proxy_is_a_startup_error(settings, bad):
    settings.TRUSTED_PROXIES = [bad]
    assert "perfmon.E003" in {message.id for message in run_checks()}
