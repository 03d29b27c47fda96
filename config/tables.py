"""Tables on dashboard pages: rendered sortable, exportable as CSV with one link."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from config import audit, display_time


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    # Formats the value for display (a moment, by default, in the display zone); the CSV
    # gets the raw value.
    format: Callable[[Any], str] | None = None
    numeric: bool = False
    # Row key holding a URL: the cell becomes a link (drill-down).
    link: str | None = None
    # Row key holding a CSS class for the cell (e.g. a score colour).
    css: str | None = None


@dataclass
class Cell:
    text: str
    sort: Any
    url: str | None
    css: str
    numeric: bool


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    # A list, or any sized re-iterable that reads its rows lazily (for streamed tables).
    rows: list[dict] = field(default_factory=list)
    empty: str = "No data yet."
    # Long tables: the CSV is sent as its rows are read (StreamingHttpResponse), so the
    # first byte leaves at once and the rows are never all in memory.
    streamed: bool = False

    def cells(self) -> list[list[Cell]]:
        return [[self._cell(column, row) for column in self.columns] for row in self.rows]

    def _cell(self, column: Column, row: dict) -> Cell:
        value = row.get(column.key)
        if value is None:
            text = "–"
        elif column.format:
            text = column.format(value)
        elif isinstance(value, datetime):
            text = display_time.text(value)
        else:
            text = str(value)
        return Cell(
            text=text,
            sort="" if value is None else value,
            url=row.get(column.link) if column.link else None,
            css=(row.get(column.css) or "") if column.css else "",
            numeric=column.numeric,
        )

    def csv_response(self, filename_stem: str) -> HttpResponse | StreamingHttpResponse:
        audit.record("export", f"{filename_stem}-{self.name}", rows=len(self.rows))
        stamp = display_time.local(timezone.now()).strftime("%Y%m%d-%H%M")
        kind = "text/csv; charset=utf-8"
        if self.streamed:
            response = StreamingHttpResponse(self._csv_chunks(), content_type=kind)
        else:
            response = HttpResponse("".join(self._csv_chunks()), content_type=kind)
        response["Content-Disposition"] = (
            f'attachment; filename="{filename_stem}-{self.name}-{stamp}.csv"'
        )
        return response

    def _csv_chunks(self, rows_per_chunk: int = 500) -> Iterator[str]:
        buffer = _Lines()
        writer = csv.writer(buffer)
        writer.writerow([c.title for c in self.columns])
        for count, row in enumerate(self.rows, 1):
            writer.writerow([csv_safe(row.get(c.key)) for c in self.columns])
            if count % rows_per_chunk == 0:
                yield buffer.take()
        yield buffer.take()


class _Lines:
    """A file-like sink for csv.writer that hands its lines over in chunks."""

    def __init__(self):
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def take(self) -> str:
        text, self.lines = "".join(self.lines), []
        return text


def csv_safe(value: Any) -> Any:
    """Neutralise formula injection: spreadsheets run cells starting with = + - @."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # Exact and unambiguous, in the zone the page showed.
        return display_time.local(value).isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def find_table(tables: Iterable[Table], name: str) -> Table | None:
    return next((t for t in tables if t.name == name), None)
