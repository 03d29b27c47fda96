"""Importing statements from CSV or Excel: validate the whole file, then store all or nothing.

One row per line item, in long format:

    entity, statement_type, period_end, metric, category, value   (required)
    currency, period, is_total, parent, source                     (optional)

`parent` names the total line (same statement) a line is a component of.
A statement is identified by entity, type and period end; importing it again
replaces its line items.

CSV files may be comma-, semicolon- or tab-separated (read from the header)
and use a decimal point or a decimal comma (read from the values), as Excel
writes them in English and in most European locales. Validation is vectorised
(pandas); on PostgreSQL the line items are written with COPY, elsewhere with
bulk inserts. Admin uploads run this in a worker (dataquality/jobs.py).
"""

from __future__ import annotations

import codecs
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config import audit
from dataquality.models import Entity, LineItem, Statement

REQUIRED = ["entity", "statement_type", "period_end", "metric", "category", "value"]
OPTIONAL = ["currency", "period", "is_total", "parent", "source"]
COLUMNS = REQUIRED + OPTIONAL
STATEMENT_KEY = ["entity", "statement_type", "period_end"]
TYPES = {value for value, _ in Statement.Type.choices}
CATEGORIES = {value for value, _ in LineItem.Category.choices}
TRUE_WORDS = {"true", "yes", "1", "y", "t", "x"}
FALSE_WORDS = {"false", "no", "0", "n", "f", ""}
MAX_ERRORS_SHOWN = 100
# Problems kept in a report (all are counted): enough to fix a file, bounded in memory.
MAX_ERRORS_KEPT = 10_000
# Decimal(24, 4): at most 20 digits before the point.
MAX_ABS_VALUE = 1e20
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
DATE_FORMATS = "YYYY-MM-DD (2025-03-31) or DD.MM.YYYY (31.03.2025)"
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")
DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
# Bytes that have no place in a text field; tab and line breaks are checked per field.
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_CHAR = r"[\x00-\x1f\x7f]"
BAD_LINE = re.compile(r"line (\d+): expected (\d+) fields, saw (\d+)")
# Evidence of the decimal mark in one value: a separator followed by other than three digits,
# or both separators with the decimal one last (1.234,5 / 1,234.5).
COMMA_DECIMAL = r"(?:\d,(?:\d{1,2}|\d{4,})\)?$)|(?:\.\d{3},\d)"
POINT_DECIMAL = r"(?:\d\.(?:\d{1,2}|\d{4,})\)?$)|(?:,\d{3}\.\d)"

Progress = Callable[[str, int, int], None]


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, size, no rows)."""


@dataclass
class RowError:
    row: int  # line in the file, the header being line 1
    column: str
    message: str

    def __str__(self):
        where = f"line {self.row}" if self.row else "file"
        return (
            f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


@dataclass
class ImportReport:
    filename: str
    rows: int = 0
    statements: int = 0
    line_items: int = 0
    new_entities: list[str] = field(default_factory=list)
    replaced: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0  # every problem found; `errors` keeps the first MAX_ERRORS_KEPT
    rejected_rows: int = 0
    warnings: list[str] = field(default_factory=list)
    layout: str = ""  # how the file was read, e.g. "semicolon-separated, decimal comma"
    saved: bool = False
    statement_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RowError(row, column, message))

    def shown_errors(self) -> list[RowError]:
        return self.errors[:MAX_ERRORS_SHOWN]

    def summary(self) -> str:
        if not self.ok:
            return (
                f"{self.filename}: nothing imported; {self.error_count} problem(s) in "
                f"{self.rejected_rows} of {self.rows} row(s)."
            )
        verb = "imported" if self.saved else "valid, not imported yet"
        return (
            f"{self.filename}: {verb}: {self.statements} statement(s), {self.line_items} line "
            f"item(s) ({self.replaced} statement(s) replaced, "
            f"{len(self.new_entities)} new entit{'y' if len(self.new_entities) == 1 else 'ies'})."
        )


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def import_file(
    data: bytes,
    filename: str,
    *,
    save: bool = True,
    source: str = "",
    progress: Progress = _no_progress,
) -> ImportReport:
    """Validate a file and, when it is clean and `save` is set, store it in one transaction.

    `progress(phase, done, total)` is told about each phase (reading, validating, storing).
    """
    report = ImportReport(filename)
    progress("reading", 0, 0)
    try:
        raw, decimal = read_table(data, filename, report)
    except ImportFileError as exc:
        report.add_error(0, "", str(exc))
        return report
    progress("validating", 0, len(raw))
    clean = validate(raw, report, decimal)
    progress("validating", len(raw), len(raw))
    if not report.ok:
        return report
    if save:  # storing counts what it creates and replaces
        store(clean, report, source or filename, progress)
    else:
        _count(clean, report)
    return report


def _count(frame: pd.DataFrame, report: ImportReport) -> None:
    """What the file would create or replace, for the report shown before saving."""
    heads = frame.drop_duplicates(["entity", "statement_type", "period_end_parsed"])
    report.statements, report.line_items = len(heads), len(frame)
    names = sorted(frame["entity"].unique())
    known = set(Entity.objects.filter(name__in=names).values_list("name", flat=True))
    report.new_entities = [n for n in names if n not in known]
    existing = Statement.objects.filter(entity__name__in=known).values_list(
        "entity__name", "statement_type", "period_end"
    )
    keys = set(
        zip(heads["entity"], heads["statement_type"], heads["period_end_parsed"], strict=True)
    )
    report.replaced = len(keys & set(existing))


# --- reading -------------------------------------------------------------------------


def read_table(data: bytes, filename: str, report: ImportReport) -> tuple[pd.DataFrame, str]:
    """The file's rows as text, indexed by their line in the file; and its decimal mark.

    Rows that cannot be read (wrong number of fields) are reported and left out.
    """
    limit = settings.DATAQUALITY_IMPORT_MAX_MB * 1024 * 1024
    if len(data) > limit:
        raise ImportFileError(
            f"the file is {len(data) / 1048576:.1f} MB; the limit is "
            f"{settings.DATAQUALITY_IMPORT_MAX_MB} MB (DATAQUALITY_IMPORT_MAX_MB)"
        )
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        frame, decimal, scan_controls = _read_excel(data), ".", True
        report.layout = "Excel workbook"
    elif name.endswith((".csv", ".txt")):
        frame, delimiter = _read_csv(data, report)
        decimal = _decimal_mark(frame, delimiter, report)
        report.layout = f"{DELIMITERS[delimiter]}-separated, decimal " + (
            "comma" if decimal == "," else "point"
        )
        # Most files have no control byte at all: then no field needs a look.
        scan_controls = CONTROL_BYTES.search(data) is not None or (
            delimiter != "\t" and b"\t" in data
        )
    else:
        raise ImportFileError("upload a .csv or .xlsx file")
    if frame.empty and not report.errors:
        raise ImportFileError("the file has a header but no rows")
    if scan_controls:
        _reject_controls(frame, report)
    return frame, decimal


def _read_excel(data: bytes) -> pd.DataFrame:
    try:
        frame = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFileError(f"not a readable Excel file ({type(exc).__name__}: {exc})") from None
    frame = frame.fillna("").astype(str)
    frame.columns = [_column_name(c) for c in frame.columns]
    frame.index = frame.index + 2
    return _drop_blank(frame)


def _read_csv(data: bytes, report: ImportReport) -> tuple[pd.DataFrame, str]:
    if not data.strip():
        raise ImportFileError("not a readable CSV file: the file is empty")
    try:  # the head only: a character cut at its end is no error
        head = codecs.getincrementaldecoder("utf-8-sig")().decode(data[:65536], final=False)
    except UnicodeDecodeError:
        raise ImportFileError("the CSV file is not UTF-8 text") from None
    header = head.splitlines()[0] if head.strip() else ""
    delimiter = _delimiter(header)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pd.read_csv(
                io.BytesIO(data),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                index_col=False,
                skip_blank_lines=False,
                skipinitialspace=True,
                on_bad_lines="warn",
                encoding="utf-8-sig",
            )
    except UnicodeDecodeError:
        raise ImportFileError("the CSV file is not UTF-8 text") from None
    except Exception as exc:  # pandas raises many kinds for a broken file
        raise ImportFileError(f"not a readable CSV file ({type(exc).__name__}: {exc})") from None
    frame.columns = [_column_name(c) for c in frame.columns]
    skipped = []
    for warning in caught:
        for match in re.finditer(
            r"line (\d+): expected (\d+) fields, saw (\d+)", str(warning.message)
        ):
            line, wanted, found = (int(g) for g in match.groups())
            skipped.append(line)
            report.add_error(line, "", f"expected {wanted} fields, found {found}")
    frame.index = _line_numbers(len(frame), skipped)
    return _drop_blank(frame), delimiter


def _column_name(column) -> str:
    return str(column).strip().lower().replace(" ", "_")


def _delimiter(header: str) -> str:
    """The separator that splits the header into the most known column names."""
    scores = {d: sum(_column_name(c) in COLUMNS for c in header.split(d)) for d in DELIMITERS}
    best = max(scores, key=scores.get)
    if scores[best] == 0:
        raise ImportFileError(
            f"the first line must name the columns, separated by a comma, semicolon or tab "
            f"(it reads {header[:80]!r}); the columns are {', '.join(COLUMNS)}"
        )
    return best


def _line_numbers(rows: int, skipped: list[int]) -> np.ndarray:
    """Each kept row's line in the file (the header is line 1), around skipped lines."""
    lines = np.arange(rows) + 2
    for line in sorted(skipped):
        lines[lines >= line] += 1
    return lines


def _drop_blank(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.columns.empty:
        return frame
    maybe = frame.iloc[:, 0] == ""  # the full test on the few rows that may be blank
    if not maybe.any():
        return frame
    blank = pd.Series(False, index=frame.index)
    blank[maybe] = (frame[maybe] == "").all(axis=1)
    return frame[~blank] if blank.any() else frame


def _decimal_mark(frame: pd.DataFrame, delimiter: str, report: ImportReport) -> str:
    """ "." or ",": what the values use. Values that cannot tell (1,234 or 1.234) follow
    the convention of the delimiter; a file that shows both is refused."""
    if "value" not in frame.columns or frame.empty:
        return "," if delimiter == ";" else "."
    values = frame["value"]

    def evidence(mark: str, pattern: str) -> pd.Series:
        # The cheap test first: most values of a file hold only one of the two marks.
        candidates = values[values.str.contains(mark, regex=False)]
        return candidates[candidates.str.contains(pattern, regex=True)]

    comma = evidence(",", COMMA_DECIMAL)
    if len(comma) == 0 and delimiter != ";":
        return "."
    point = evidence(".", POINT_DECIMAL)
    if len(comma) and len(point):
        report.add_error(
            0,
            "value",
            f"the values mix decimal commas (line {comma.index[0]}: {comma.iloc[0]!r}) and "
            f"decimal points (line {point.index[0]}: {point.iloc[0]!r}); use one decimal mark "
            "in the file",
        )
    return "." if len(point) and not len(comma) else ","


def _reject_controls(frame: pd.DataFrame, report: ImportReport) -> None:
    for column in frame.columns:
        text = frame[column]
        bad = text.str.contains(CONTROL_CHAR, regex=True)
        for line, value in text[bad].items():
            position, char = next((i, c) for i, c in enumerate(value) if _is_control(c))
            name = {"\x00": " (NUL)", "\t": " (tab)", "\r": " (carriage return)"}.get(char, "")
            report.add_error(
                int(line),
                column,
                f"contains the control character U+{ord(char):04X}{name} at character "
                f"{position + 1}; remove it",
            )


def _is_control(char: str) -> bool:
    return ord(char) < 32 or ord(char) == 127


# --- validating ----------------------------------------------------------------------


def validate(raw: pd.DataFrame, report: ImportReport, decimal: str = ".") -> pd.DataFrame:
    """Check every row (vectorised); record every problem in the report; return typed rows.

    The frame's index is each row's line in the file.
    """
    earlier = {e.row for e in report.errors if e.row}
    report.rows = len(raw) + sum(1 for e in report.errors if e.row and not e.column)
    unknown = [c for c in raw.columns if c not in COLUMNS]
    missing = [c for c in REQUIRED if c not in raw.columns]
    if unknown:
        report.add_error(
            0, "", f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}"
        )
    if missing:
        report.add_error(0, "", f"missing column(s) {', '.join(missing)}")
    if unknown or missing:
        report.rejected_rows = len(earlier)
        return raw
    # Per distinct value: a column repeats a few names a million times. Numbers are
    # stripped by their parser.
    frame = raw.apply(lambda c: c if c.name == "value" else _distinct_map(c, str.strip))
    for name in OPTIONAL:
        if name not in frame:
            frame[name] = ""
    rejected = np.zeros(len(frame), dtype=bool)

    def reject(mask: pd.Series, column: str, message) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        rejected[mask] = True
        for line in frame.index[mask]:
            text = message(line) if callable(message) else message
            report.add_error(int(line), column, text)

    for name in ["entity", "metric"]:
        reject(frame[name] == "", name, "is empty")
    for name in ["entity", "metric"]:
        reject(_distinct_map(frame[name], len) > 200, name, "is longer than 200 characters")

    frame["statement_type"] = _distinct_map(frame["statement_type"], _word)
    bad_type = ~frame["statement_type"].isin(TYPES)
    reject(
        bad_type,
        "statement_type",
        lambda i: f"{raw.at[i, 'statement_type']!r} is not one of {', '.join(sorted(TYPES))}",
    )
    frame["category"] = _distinct_map(frame["category"], _word)
    reject(
        ~frame["category"].isin(CATEGORIES),
        "category",
        lambda i: f"{raw.at[i, 'category']!r} is not one of {', '.join(sorted(CATEGORIES))}",
    )

    period_end = _distinct_map(frame["period_end"], _date)
    period = _distinct_map(frame["period"], _date)
    bad_date = period_end.isna()
    reject(
        bad_date,
        "period_end",
        lambda i: f"{raw.at[i, 'period_end']!r} is not a date; write dates as {DATE_FORMATS}",
    )
    reject(
        (frame["period"] != "") & period.isna(),
        "period",
        lambda i: f"{raw.at[i, 'period']!r} is not a date; write dates as {DATE_FORMATS}",
    )
    frame["period_end_parsed"] = period_end
    frame["period_parsed"] = period.where(period.notna(), period_end)

    frame["value_parsed"], frame["value_text"] = _numbers(frame["value"], decimal)
    reject(
        (frame["value_text"] != "") & frame["value_parsed"].isna(),
        "value",
        lambda i: (
            f"{raw.at[i, 'value']!r} is not a number"
            + (" (this file uses a decimal comma: 1.234,5)" if decimal == "," else "")
        ),
    )
    reject(frame["value_parsed"].abs() >= MAX_ABS_VALUE, "value", "is too large")

    lowered = _distinct_map(frame["is_total"], str.lower)
    reject(
        ~lowered.isin(TRUE_WORDS | FALSE_WORDS),
        "is_total",
        lambda i: f"{raw.at[i, 'is_total']!r} is not true or false",
    )
    frame["is_total_parsed"] = lowered.isin(TRUE_WORDS).astype(bool)

    frame["currency"] = _distinct_map(frame["currency"], lambda c: c.upper() or "USD")
    reject(
        ~_distinct_map(frame["currency"], lambda c: re.fullmatch("[A-Z]{3}", c) is not None),
        "currency",
        lambda i: f"{raw.at[i, 'currency']!r} is not a three-letter currency code",
    )
    key = ["entity", "statement_type", "period_end_parsed"]
    # A row whose statement is unknown (bad type or date) is reported once, for that:
    # its parent and currency cannot be judged against a statement.
    known_key = ~(bad_type | bad_date | (frame["entity"] == "")).to_numpy()
    keyed = frame[known_key]
    currencies = keyed.groupby(key)["currency"].transform("nunique")
    reject(
        pd.Series(frame.index.isin(currencies.index[currencies > 1]), index=frame.index),
        "currency",
        "differs from other lines of the same statement",
    )
    _check_parents(frame, keyed, key, reject)
    if report.ok:
        _warn_duplicates(frame, key, report)
    report.errors.sort(key=lambda e: (e.row, e.column))
    # Rows already refused while reading: lines left out, fields with control characters.
    refused = np.array(sorted(earlier), dtype="int64")
    rejected |= frame.index.isin(refused)
    report.rejected_rows = int(rejected.sum()) + int((~np.isin(refused, frame.index)).sum())
    return frame


def _distinct_map(column: pd.Series, function) -> pd.Series:
    """`function` applied once per distinct value: files repeat a few values a million times."""
    codes, distinct = pd.factorize(column)
    values = [function(v) for v in distinct] or [None]
    if isinstance(values[0], bool | int):  # flags and lengths: a numpy array
        return pd.Series(np.array(values)[codes], index=column.index)
    # Text and dates stay Python objects: no per-row conversion to a string array.
    mapped = np.empty(len(values), dtype=object)
    mapped[:] = values
    return pd.Series(mapped[codes], index=column.index, dtype=object)


def _word(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.lower())


def _date(text: str) -> date | None:
    if match := ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := DOTTED_DATE.fullmatch(text):
        day, month, year = match.groups()
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _numbers(column: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    """Numbers as accountants write them: 1,234.5 (or 1.234,5) and (1,234.5) for negatives.

    Returns the floats (NaN when empty or unreadable) and the exact text for storage.
    """
    parsed = pd.to_numeric(column, errors="coerce") if decimal == "." else None
    if parsed is not None and not (parsed.isna() & (column != "")).any():
        return parsed.astype(float), column  # plain numbers: the common case, no text work
    thousands = r"[\s,_']" if decimal == "." else r"[\s._']"
    text = column.str.replace(thousands, "", regex=True)
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    negative = text.str.fullmatch(r"\(.*\)").fillna(False).astype(bool)
    digits = text.str.strip("()")
    parsed = pd.to_numeric(digits, errors="coerce").astype(float)
    parsed = parsed.where(~negative, -parsed)
    exact = digits.where(~negative, "-" + digits)
    return parsed, exact


def _check_parents(frame: pd.DataFrame, keyed: pd.DataFrame, key: list[str], reject) -> None:
    totals = keyed.loc[keyed["is_total_parsed"], [*key, "metric"]].drop_duplicates()
    wanted = keyed.loc[keyed["parent"] != "", [*key, "parent"]]
    wanted = wanted.rename_axis("line").reset_index()
    found = wanted.merge(
        totals.rename(columns={"metric": "parent"}), on=[*key, "parent"], how="left", indicator=True
    )
    orphans = found.loc[found["_merge"] == "left_only", "line"]
    reject(
        frame.index.isin(orphans),
        "parent",
        lambda i: f"{frame.at[i, 'parent']!r} is not a total line (is_total) of this statement",
    )


def _warn_duplicates(frame, key, report) -> None:
    repeated = frame[frame.duplicated([*key, "metric", "period_parsed"], keep=False)]
    if repeated.empty:
        return
    lines = ", ".join(str(n) for n in repeated.index[:20])
    report.warnings.append(
        f"{len(repeated)} rows repeat a metric for the same statement and period "
        f"(lines {lines}{' ...' if len(repeated) > 20 else ''}); they are imported as they "
        "are, and the duplicates check will report them."
    )


# --- storing -------------------------------------------------------------------------


@transaction.atomic
def store(
    frame: pd.DataFrame, report: ImportReport, source: str, progress: Progress = _no_progress
) -> None:
    """Write validated rows: entities, statements (replacing existing ones), line items."""
    progress("storing", 0, len(frame))
    now = timezone.now()
    statement_ids = _store_statements(frame, report, source, now)
    frame = frame.assign(
        statement_id=statement_ids,
        line_no=frame.index.to_numpy(),
    )
    if connection.vendor == "postgresql":
        _copy_items(frame, progress)
    else:
        _insert_items(frame)
    report.line_items = len(frame)
    report.saved = True
    progress("storing", len(frame), len(frame))
    audit.record(
        "import",
        "dataquality.statement",
        file=report.filename,
        statements=report.statements,
        line_items=report.line_items,
        new_entities=len(report.new_entities),
    )


def _store_statements(frame: pd.DataFrame, report, source: str, now) -> np.ndarray:
    """Create or update each statement of the file; return every row's statement id."""
    names = sorted(frame["entity"].unique())
    entities = {}
    for chunk in _chunks(names, 900):
        entities.update(Entity.objects.filter(name__in=chunk).values_list("name", "id"))
    report.new_entities = [n for n in names if n not in entities]
    created = Entity.objects.bulk_create(
        [Entity(name=n) for n in report.new_entities], batch_size=2000
    )
    entities.update((e.name, e.pk) for e in created)

    key = ["entity", "statement_type", "period_end_parsed"]
    statement_of_row, first_rows = _statement_codes(frame, key)
    heads = frame.iloc[first_rows][[*key, "currency"]]
    existing = {}
    for chunk in _chunks(sorted(set(entities.values()) - {e.pk for e in created}), 900):
        rows = Statement.objects.filter(entity_id__in=chunk).values_list(
            "entity_id", "statement_type", "period_end", "id"
        )
        existing.update(((e, t, p), i) for e, t, p, i in rows)
    ids, new, replaced = {}, [], {}
    for name, kind, period_end, currency in heads.itertuples(index=False):
        found = existing.get((entities[name], kind, period_end))
        if found is None:
            new.append(
                Statement(
                    entity_id=entities[name],
                    statement_type=kind,
                    period_end=period_end,
                    currency=currency,
                    source=source[:255],
                    imported_at=now,
                    updated_at=now,
                )
            )
        else:
            ids[(name, kind, period_end)] = found
            replaced.setdefault(currency, []).append(found)
    names_by_id = {pk: name for name, pk in entities.items()}
    for entity_id, kind, period_end, pk in _create_statements(new):
        ids[(names_by_id[entity_id], kind, period_end)] = pk
    old = [i for group in replaced.values() for i in group]
    _delete_items(old)
    for currency, group in replaced.items():
        if connection.vendor == "postgresql":  # one array parameter, whatever the count
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Statement._meta.db_table} SET currency = %s, source = %s, "  # noqa: S608
                    "updated_at = %s WHERE id = ANY(%s)",
                    [currency, source[:255], now, group],
                )
            continue
        for chunk in _chunks(group, 900):
            Statement.objects.filter(pk__in=chunk).update(
                currency=currency, source=source[:255], updated_at=now
            )
    report.statements = len(heads)
    report.replaced = len(old)
    report.statement_ids = sorted(ids.values())
    in_order = np.array([ids[k] for k in heads[key].itertuples(index=False, name=None)])
    return in_order[statement_of_row]


def _statement_codes(frame: pd.DataFrame, key: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's statement as a number (0, 1, ... in order of first appearance) and the
    first row of each: integer work, where hashing a million (name, type, date) is slow."""
    combined = np.zeros(len(frame), dtype="int64")
    for column in key:
        codes, distinct = pd.factorize(frame[column])
        combined = combined * (len(distinct) + 1) + codes
    group, _ = pd.factorize(combined)  # numbered by first appearance
    _, first_rows = np.unique(group, return_index=True)
    return group, first_rows


def _create_statements(new: list[Statement]) -> list[tuple]:
    """Insert statements; return (entity id, type, period end, id) of each.

    PostgreSQL: one INSERT from arrays (model instances cost more than the insert).
    """
    if connection.vendor != "postgresql":
        created = Statement.objects.bulk_create(new, batch_size=2000)
        return [(s.entity_id, s.statement_type, s.period_end, s.pk) for s in created]
    if not new:
        return []
    first = new[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Statement._meta.db_table} "  # noqa: S608 (our table)
            "(entity_id, statement_type, period_end, currency, source, imported_at, updated_at) "
            "SELECT e, t, p, c, %s, %s, %s FROM unnest(%s::bigint[], %s::text[], %s::date[], "
            "%s::text[]) AS rows(e, t, p, c) RETURNING entity_id, statement_type, period_end, id",
            [
                first.source,
                first.imported_at,
                first.updated_at,
                [s.entity_id for s in new],
                [s.statement_type for s in new],
                [s.period_end for s in new],
                [s.currency for s in new],
            ],
        )
        return cursor.fetchall()


def _delete_items(statement_ids: list[int]) -> None:
    """The line items of replaced statements, in SQL: no model instances for a delete."""
    table = LineItem._meta.db_table
    # A line of another statement may name one of these as parent (edited by hand): the
    # ORM's SET_NULL, done here in SQL.
    orphan = (
        f"UPDATE {table} SET parent_id = NULL WHERE id IN (SELECT child.id FROM {table} child "  # noqa: S608 (our table)
        f"JOIN {table} parent ON parent.id = child.parent_id WHERE parent.statement_id {{ids}} "
        "AND child.statement_id <> parent.statement_id)"
    )
    delete = f"DELETE FROM {table} WHERE statement_id {{ids}}"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one array parameter, whatever the count
            for sql in (orphan, delete):
                cursor.execute(sql.format(ids="= ANY(%(ids)s)"), {"ids": statement_ids})
            return
        for chunk in _chunks(statement_ids, 900):
            marks = f"IN ({','.join(['%s'] * len(chunk))})"
            cursor.execute(orphan.format(ids=marks), chunk)
            cursor.execute(delete.format(ids=marks), chunk)


def _chunks(items, size: int):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _with_parents(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row's parent id, from the ids already given to the rows (first total of a name)."""
    totals = (
        frame.loc[frame["is_total_parsed"], ["statement_id", "metric", "id"]]
        .drop_duplicates(["statement_id", "metric"])
        .rename(columns={"metric": "parent", "id": "parent_id"})
    )
    merged = frame[["statement_id", "parent"]].merge(
        totals, on=["statement_id", "parent"], how="left"
    )
    return frame.assign(parent_id=merged["parent_id"].to_numpy())


COPY_COLUMNS = [
    "statement_id",
    "metric",
    "category",
    "period",
    "value",
    "is_total",
    "parent_id",
    "source_row",
]
COPY_ROWS = 100_000


def _copy_items(frame: pd.DataFrame, progress: Progress) -> None:
    """PostgreSQL: totals with ids taken from the table's sequence (their components
    point at them), then the components; each with COPY, in blocks (progress per block)."""
    table = LineItem._meta.db_table
    is_total = frame["is_total_parsed"].to_numpy(dtype=bool)
    ids = np.zeros(len(frame), dtype="int64")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, int(is_total.sum())],
        )
        ids[is_total] = [row[0] for row in cursor.fetchall()]
    frame = _with_parents(frame.assign(id=ids))
    out = pd.DataFrame(
        {
            "id": ids,
            "statement_id": frame["statement_id"].to_numpy(),
            "metric": frame["metric"].to_numpy(),
            "category": frame["category"].to_numpy(),
            "period": _distinct_map(frame["period_parsed"], date.isoformat).to_numpy(),
            "value": frame["value_text"].where(frame["value_parsed"].notna(), None).to_numpy(),
            "is_total": np.where(is_total, "t", "f"),
            "parent_id": frame["parent_id"].astype("Int64").reset_index(drop=True),
            "source_row": frame["line_no"].to_numpy(),
        }
    )
    done = 0
    with connection.cursor() as cursor:
        parts = [(out[is_total], ["id", *COPY_COLUMNS]), (out[~is_total], COPY_COLUMNS)]
        for rows, columns in parts:
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
            with cursor.copy(sql) as copy:
                for start in range(0, len(rows), COPY_ROWS):
                    block = rows.iloc[start : start + COPY_ROWS]
                    copy.write(block[columns].to_csv(index=False, header=False))
                    done += len(block)
                    progress("storing", done, len(out))


def _insert_items(frame: pd.DataFrame) -> None:
    """Other databases: totals first (their ids are needed), then the components."""
    totals = frame[frame["is_total_parsed"]]
    created = LineItem.objects.bulk_create(_items(totals), batch_size=2000)
    ids = pd.Series([item.pk for item in created], index=totals.index)
    frame = _with_parents(frame.assign(id=ids.reindex(frame.index)))
    nested = []
    for item, parent in zip(created, frame.loc[totals.index, "parent_id"], strict=True):
        if pd.notna(parent):
            item.parent_id = int(parent)
            nested.append(item)
    LineItem.objects.bulk_update(nested, ["parent"], batch_size=500)
    LineItem.objects.bulk_create(_items(frame[~frame["is_total_parsed"]]), batch_size=2000)


def _items(rows: pd.DataFrame) -> list[LineItem]:
    items = []
    has_parent = "parent_id" in rows
    for row in rows.itertuples(index=False):
        value = None if pd.isna(row.value_parsed) else Decimal(row.value_text)
        parent = row.parent_id if has_parent and pd.notna(row.parent_id) else None
        items.append(
            LineItem(
                statement_id=int(row.statement_id),
                metric=row.metric,
                category=row.category,
                period=row.period_parsed,
                value=None if value is None else value.quantize(Decimal("0.0001")),
                is_total=bool(row.is_total_parsed),
                parent_id=None if parent is None else int(parent),
                source_row=int(row.line_no),
            )
        )
    return items
