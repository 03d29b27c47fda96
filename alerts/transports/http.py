"""The one way notifications leave over HTTP: http(s) only, a timeout, no cross-host redirects."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from alerts.transports.base import TransportError

USER_AGENT = "perfmon-alerts/1"
MAX_REDIRECTS = 3
# Worth trying again later; every other 4xx is a mistake that retrying will not fix.
TEMPORARY_4XX = {408, 425, 429}
_url_validator = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class Response:
    status: int
    body: str


def clean_url(url: str) -> str:
    url = url.strip()
    try:
        _url_validator(url)
    except ValidationError:
        raise ValidationError("Enter an http:// or https:// URL.") from None
    return url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # surfaces as an HTTPError we judge ourselves


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST and return the response; raise TransportError saying whether to retry."""
    for _ in range(MAX_REDIRECTS + 1):
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise TransportError(
                f"refusing to send to a {scheme or 'schemeless'} URL", permanent=True
            )
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            url, data=body, method="POST", headers={"User-Agent": USER_AGENT, **headers}
        )
        try:
            with _opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, _read(answer))
        except urllib.error.HTTPError as error:
            status, text = error.code, _read(error)
            if status in (307, 308) and _same_origin(url, error.headers.get("Location", "")):
                url = urljoin(url, error.headers["Location"])
                continue
            raise _classify(status, text, error.headers.get("Location")) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise TransportError(f"could not connect: {reason}") from None
    raise TransportError("too many redirects", permanent=True)


def _same_origin(url: str, location: str) -> bool:
    if not location:
        return False
    here, there = urlsplit(url), urlsplit(urljoin(url, location))
    return (here.scheme, here.netloc) == (there.scheme, there.netloc)


def _classify(status: int, text: str, location: str | None) -> TransportError:
    detail = f"HTTP {status}" + (f": {text[:200]}" if text else "")
    if 300 <= status < 400:
        target = f" to {location}" if location else ""
        return TransportError(
            f"HTTP {status} redirect{target} refused: notifications follow no redirects "
            "to other hosts (update the URL)",
            permanent=True,
            status_code=status,
        )
    if 400 <= status < 500 and status not in TEMPORARY_4XX:
        return TransportError(detail, permanent=True, status_code=status)
    return TransportError(detail, status_code=status)


def _read(answer) -> str:
    try:
        return answer.read(4096).decode("utf-8", "replace").strip()
    except OSError:
        return ""
