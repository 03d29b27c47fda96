"""How audit rows read: local times and "field: before -> after"."""

from __future__ import annotations

import json

from audit.trail import CHANGED
from config import display_time


def when(value) -> str:
    """In settings.TIME_ZONE, with the zone's name: an audit time must be unambiguous."""
    return display_time.text(value, seconds=True, zone=True)


def _value(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return repr(value) if value == "" else value
    return json.dumps(value, ensure_ascii=False)


def changes_text(changes: dict, separator: str = "; ") -> str:
    parts = []
    for field, change in (changes or {}).items():
        if change == CHANGED:
            parts.append(f"{field}: changed")
        else:
            before, after = change
            parts.append(f"{field}: {_value(before)} -> {_value(after)}")
    return separator.join(parts)


def detail_text(detail: dict) -> str:
    return ", ".join(f"{key}={_value(value)}" for key, value in (detail or {}).items())
