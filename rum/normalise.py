"""URLs as stored: no query string, no fragment; page paths with ids replaced by placeholders."""

from __future__ import annotations

import re
from functools import lru_cache
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


# A URL inside free text (a message, a stack, a selector, a property) starts with a scheme
# ("https:", "webpack:", "blob:", "data:") or a "/". Its query string and fragment run from
# its first "?" or "#" to the end of the word (whitespace, a quote, "<" or ">"), or to a
# ")" or "]" closing a bracket opened before it: brackets inside it ("?q=(a)", "?f[a]=b")
# belong to it. Whatever they hold (":", "/", "@", another URL) goes; only a stack frame's
# trailing ":line:column" stays. Every pattern here runs in linear time: the text is a
# client's, up to 8,000 characters.
_WORD = re.compile(r"""[^\s"'`<>]+""")
_URL_START = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*+:|/")
_QUERY_MARK = re.compile(r"[?#]")
_LINE_COLUMN = re.compile(r"(?::\d+){2}$")
_OPENING, _CLOSING = "([", ")]"


def _tail_end(word: str, start: int) -> int:
    """Where the query string or fragment starting at `start` ends: a bracket it did not open."""
    depth = 0
    for position in range(start, len(word)):
        char = word[position]
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            if depth == 0:
                return position
            depth -= 1
    return len(word)


def _scrub_word(match: re.Match) -> str:
    word = match[0]
    kept, position = [], 0
    while (start := _URL_START.search(word, position)) is not None:
        mark = _QUERY_MARK.search(word, start.end())
        if mark is None:
            break
        end = _tail_end(word, mark.start())
        kept.append(word[position : mark.start()])
        line_column = _LINE_COLUMN.search(word, mark.start(), end)
        if line_column is not None:
            kept.append(line_column[0])
        position = end
    kept.append(word[position:])
    return "".join(kept)


@lru_cache(maxsize=1024)
def scrub_urls(text: str) -> str:
    """`text` with every URL in it cut before its query string and fragment.

    Everything a client writes that may hold a URL goes through here before it is
    stored or fingerprinted: tokens and e-mail addresses travel in query strings.
    """
    if "?" not in text and "#" not in text:
        return text
    return _WORD.sub(_scrub_word, text)
