"""The one way notifications leave over HTTP.

http(s) only, a timeout, no credentials in URLs, no redirects to another host, and
only to public addresses: loopback, link-local, private, multicast and reserved
addresses are refused (unless in ALERTS_ALLOWED_NETWORKS) when the URL is saved,
and again on the address each connection actually goes to, every redirect
included, so a name that resolves elsewhere later (DNS rebinding) gains nothing.
A reply's body is never read into an error: only its status.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from alerts.transports.base import TransportError
from config.client_address import in_networks, parse_networks

USER_AGENT = "perfmon-alerts/1"
MAX_REDIRECTS = 3
# Worth trying again later; every other 4xx is a mistake that retrying will not fix.
TEMPORARY_4XX = {408, 425, 429}
_url_validator = URLValidator(schemes=["http", "https"])
_tls = ssl.create_default_context()


@dataclass(frozen=True)
class Response:
    status: int


class RefusedAddress(Exception):
    """A URL or address notifications may not go to; the message says why."""


def clean_url(url: str) -> str:
    """The URL if notifications may go there (its host resolved now), else ValidationError."""
    url = url.strip()
    try:
        _url_validator(url)
    except ValidationError:
        raise ValidationError("Enter an http:// or https:// URL.") from None
    try:
        host, port = _check_url(url)[1:3]
        for address in _resolve(host, port):
            _check_address(address)
    except RefusedAddress as refused:
        raise ValidationError(str(refused)) from None
    except OSError:
        raise ValidationError(f"The host {host} could not be resolved.") from None
    return url


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST and return the response; raise TransportError saying whether to retry."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            status, location = _post_once(url, body, headers, timeout)
        except RefusedAddress as refused:
            raise TransportError(str(refused), permanent=True) from None
        except (OSError, http.client.HTTPException) as error:
            raise TransportError(f"could not connect: {_reason(error)}") from None
        if status in (307, 308) and _same_origin(url, location):
            url = urljoin(url, location)
            continue
        if status < 300:
            return Response(status)
        raise _classify(status, location)
    raise TransportError("too many redirects", permanent=True)


def address_refused(address: str) -> str | None:
    """Why notifications may not go to this IP address, or None when they may."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if in_networks(str(ip), _allowed(tuple(settings.ALERTS_ALLOWED_NETWORKS))):
        return None
    for kind in ("unspecified", "loopback", "link_local", "private", "multicast", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return f"{ip} is a {kind.replace('_', '-')} address"
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges
        return f"{ip} is not a public address"
    return None


@lru_cache(maxsize=8)
def _allowed(entries: tuple[str, ...]):
    return parse_networks(entries)


def _check_url(url: str):
    """(parts, host, port) of a URL notifications may be sent to, or RefusedAddress."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedAddress(f"refusing to send to a {parts.scheme or 'schemeless'} URL")
    if "@" in parts.netloc:
        raise RefusedAddress("a URL may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedAddress("the URL's port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise RefusedAddress("the URL has no host")
    return parts, parts.hostname, port


def _check_address(address: str) -> None:
    reason = address_refused(address)
    if reason:
        raise RefusedAddress(
            f"{reason}: not allowed for notifications (ALERTS_ALLOWED_NETWORKS lists exceptions)"
        )


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    """A connection to an allowed address of host: every address it resolves to is checked
    (one refused address refuses the host), then the peer actually connected to."""
    addresses = _resolve(host, port)
    for address in addresses:
        _check_address(address)
    error: OSError | None = None
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except OSError as failure:
            error = failure
            continue
        try:
            _check_address(sock.getpeername()[0])
        except RefusedAddress:
            sock.close()
            raise
        return sock
    raise error or OSError(f"no address for {host}")


class _Http(http.client.HTTPConnection):
    def connect(self):
        self.sock = _connect(self.host, self.port, self.timeout)


class _Https(http.client.HTTPSConnection):
    def connect(self):
        sock = _connect(self.host, self.port, self.timeout)
        self.sock = _tls.wrap_socket(sock, server_hostname=self.host)


def _post_once(url: str, body: bytes, headers: dict[str, str], timeout: float):
    """(status, Location) of one POST; the reply's body is never read."""
    parts, host, port = _check_url(url)
    connection_class = _Https if parts.scheme == "https" else _Http
    connection = connection_class(host, port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        answer = connection.getresponse()
        return answer.status, answer.getheader("Location") or ""
    finally:
        connection.close()


def _reason(error: Exception) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"
    return str(error) or type(error).__name__


def _same_origin(url: str, location: str) -> bool:
    if not location:
        return False
    here, there = urlsplit(url), urlsplit(urljoin(url, location))
    return (here.scheme, here.netloc) == (there.scheme, there.netloc)


def _phrase(status: int) -> str:
    """The standard phrase of a status: never the receiver's own words."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _classify(status: int, location: str) -> TransportError:
    detail = _phrase(status)
    if 300 <= status < 400:
        target = f" to {location[:200]}" if location else ""
        return TransportError(
            f"HTTP {status} redirect{target} refused: notifications follow no redirects "
            "to other hosts (update the URL)",
            permanent=True,
            status_code=status,
        )
    if 400 <= status < 500 and status not in TEMPORARY_4XX:
        return TransportError(detail, permanent=True, status_code=status)
    return TransportError(detail, status_code=status)
