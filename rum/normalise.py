"""Page URLs as stored: no query string, no fragment, ids replaced by placeholders."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 500
ID = ":id"
EMAIL = ":email"

_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_LONG_HEX = re.compile(r"^[0-9a-fA-F]{16,}$")
# A long token mixing letters and digits (base64 ids, session tokens).
_TOKEN = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_=]{24,}$")
_EMAIL = re.compile(r"^[^@\s/]+@[^@\s/]+\.[^@\s/]+$")


def split_url(url: str) -> tuple[str, str]:
    """(host, path) of a URL or a bare path; never raises."""
    try:
        parts = urlsplit(url.strip())
        return (parts.hostname or "", parts.path)
    except ValueError:
        return ("", url.split("?", 1)[0].split("#", 1)[0])


def normalise_segment(segment: str) -> str:
    decoded = unquote(segment)
    if decoded.isdigit() or _UUID.match(decoded) or _LONG_HEX.match(decoded):
        return ID
    if _TOKEN.match(decoded):
        return ID
    if _EMAIL.match(decoded):
        return EMAIL
    return segment


def normalise_path(path: str) -> str:
    """`/orders/123/items?x=1#top` -> `/orders/:id/items`."""
    path = "".join(ch for ch in path.split("?", 1)[0].split("#", 1)[0] if ch.isprintable())
    segments = [s for s in path.split("/") if s]
    trailing = path.endswith("/") and bool(segments)
    clean = "/" + "/".join(normalise_segment(s) for s in segments)
    if trailing:
        clean += "/"
    if len(clean) > MAX_LENGTH:
        clean = clean[: MAX_LENGTH - 1] + "…"
    return clean


def normalise_url(url: str) -> str:
    return normalise_path(split_url(url)[1])


def referrer_host(url: str) -> str:
    """Only the referring site's host name is kept."""
    return split_url(url)[0][:255] if url else ""
