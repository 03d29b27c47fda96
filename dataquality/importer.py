"""Importing statements from CSV or Excel: validate the whole file, then store all or nothing.

One row per line item, in long format:

    entity, statement_type, period_end, metric, category, value   (required)
    currency, period, is_total, parent, source                     (optional)

`parent` names the total line (same statement) a line is a component of.
A statement is identified by entity, type and period end; importing it again
replaces its line items.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config import audit
from dataquality.models import Entity, LineItem, Statement

REQUIRED = ["entity", "statement_type", "period_end", "metric", "category", "value"]
OPTIONAL = ["currency", "period", "is_total", "parent", "source"]
STATEMENT_KEY = ["entity", "statement_type", "period_end"]
TYPES = {value for value, _ in Statement.Type.choices}
CATEGORIES = {value for value, _ in LineItem.Category.choices}
TRUE_WORDS = {"true", "yes", "1", "y", "t", "x"}
FALSE_WORDS = {"false", "no", "0", "n", "f", ""}
MAX_ERRORS_SHOWN = 100
# Decimal(24, 4): at most 20 digits before the point.
MAX_ABS_VALUE = 1e20


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
    warnings: list[str] = field(default_factory=list)
    saved: bool = False
    statement_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors if e.row})

    def shown_errors(self) -> list[RowError]:
        return self.errors[:MAX_ERRORS_SHOWN]

    def summary(self) -> str:
        if not self.ok:
            return (
                f"{self.filename}: nothing imported; {len(self.errors)} problem(s) in "
                f"{self.rejected_rows} of {self.rows} row(s)."
            )
        verb = "imported" if self.saved else "valid, not imported yet"
        return (
            f"{self.filename}: {verb}: {self.statements} statement(s), {self.line_items} line "
            f"item(s) ({self.replaced} statement(s) replaced, "
            f"{len(self.new_entities)} new entit{'y' if len(self.new_entities) == 1 else 'ies'})."
        )


def import_file(data: bytes, filename: str, *, save: bool = True, source: str = "") -> ImportReport:
    """Validate a file and, when it is clean and `save` is set, store it in one transaction."""
    report = ImportReport(filename)
    try:
        raw = read_table(data, filename)
    except ImportFileError as exc:
        report.errors.append(RowError(0, "", str(exc)))
        return report
    clean = validate(raw, report)
    if not report.ok:
        return report
    _count(clean, report)
    if save:
        store(clean, report, source or filename)
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


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    limit = settings.DATAQUALITY_IMPORT_MAX_MB * 1024 * 1024
    if len(data) > limit:
        raise ImportFileError(
            f"the file is {len(data) / 1048576:.1f} MB; the limit is "
            f"{settings.DATAQUALITY_IMPORT_MAX_MB} MB (DATAQUALITY_IMPORT_MAX_MB)"
        )
    name = filename.lower()
    try:
        if name.endswith((".xlsx", ".xlsm")):
            frame = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
        elif name.endswith((".csv", ".txt")):
            frame = pd.read_csv(
                io.BytesIO(data), dtype=str, keep_default_na=False, skipinitialspace=True
            )
        else:
            raise ImportFileError("upload a .csv or .xlsx file")
    except ImportFileError:
        raise
    except UnicodeDecodeError:
        raise ImportFileError("the CSV file is not UTF-8 text") from None
    except Exception as exc:  # pandas and openpyxl raise many kinds for a broken file
        kind = "Excel" if name.endswith((".xlsx", ".xlsm")) else "CSV"
        raise ImportFileError(f"not a readable {kind} file ({type(exc).__name__}: {exc})") from None
    frame = frame.fillna("").astype(str)
    frame.columns = [str(c).strip().lower().replace(" ", "_") for c in frame.columns]
    if frame.empty:
        raise ImportFileError("the file has a header but no rows")
    return frame


def validate(raw: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """Check every row (vectorised); record problems in the report; return typed rows."""
    report.rows = len(raw)
    line = pd.Series(raw.index + 2, index=raw.index)
    unknown = [c for c in raw.columns if c not in REQUIRED + OPTIONAL]
    missing = [c for c in REQUIRED if c not in raw.columns]
    if unknown:
        report.errors.append(
            RowError(
                0,
                "",
                f"unknown column(s) {', '.join(unknown)}; the columns are "
                f"{', '.join(REQUIRED + OPTIONAL)}",
            )
        )
    if missing:
        report.errors.append(RowError(0, "", f"missing column(s) {', '.join(missing)}"))
    if unknown or missing:
        return raw
    frame = raw.apply(lambda c: c.str.strip())
    for name in OPTIONAL:
        if name not in frame:
            frame[name] = ""

    def reject(mask: pd.Series, column: str, message) -> None:
        for index in mask[mask].index:
            text = message(index) if callable(message) else message
            report.errors.append(RowError(int(line[index]), column, text))

    for name in ["entity", "metric"]:
        reject(frame[name] == "", name, "is empty")
    reject(frame["entity"].str.len() > 200, "entity", "is longer than 200 characters")
    reject(frame["metric"].str.len() > 200, "metric", "is longer than 200 characters")

    frame["statement_type"] = _word(frame["statement_type"])
    reject(
        ~frame["statement_type"].isin(TYPES),
        "statement_type",
        lambda i: f"{raw.at[i, 'statement_type']!r} is not one of {', '.join(sorted(TYPES))}",
    )
    frame["category"] = _word(frame["category"])
    reject(
        ~frame["category"].isin(CATEGORIES),
        "category",
        lambda i: f"{raw.at[i, 'category']!r} is not one of {', '.join(sorted(CATEGORIES))}",
    )

    period_end = pd.to_datetime(frame["period_end"], format="ISO8601", errors="coerce")
    period = pd.to_datetime(frame["period"], format="ISO8601", errors="coerce")
    reject(
        period_end.isna(),
        "period_end",
        lambda i: f"{raw.at[i, 'period_end']!r} is not a date like 2025-03-31",
    )
    reject(
        (frame["period"] != "") & period.isna(),
        "period",
        lambda i: f"{raw.at[i, 'period']!r} is not a date like 2025-03-31",
    )
    frame["period_end_parsed"] = period_end.dt.date
    frame["period_parsed"] = period.fillna(period_end).dt.date

    frame["value_parsed"], frame["value_text"] = _numbers(frame["value"])
    reject(
        (frame["value"] != "") & frame["value_parsed"].isna(),
        "value",
        lambda i: f"{raw.at[i, 'value']!r} is not a number",
    )
    reject(frame["value_parsed"].abs() >= MAX_ABS_VALUE, "value", "is too large")

    lowered = frame["is_total"].str.lower()
    reject(
        ~lowered.isin(TRUE_WORDS | FALSE_WORDS),
        "is_total",
        lambda i: f"{raw.at[i, 'is_total']!r} is not true or false",
    )
    frame["is_total_parsed"] = lowered.isin(TRUE_WORDS)

    frame["currency"] = frame["currency"].str.upper().replace("", "USD")
    reject(
        ~frame["currency"].str.fullmatch(r"[A-Z]{3}"),
        "currency",
        lambda i: f"{raw.at[i, 'currency']!r} is not a three-letter currency code",
    )
    key = ["entity", "statement_type", "period_end_parsed"]
    currencies = frame.groupby(key)["currency"].transform("nunique")
    reject(currencies > 1, "currency", "differs from other lines of the same statement")

    _check_parents(frame, key, reject)
    _warn_duplicates(frame, key, line, report)
    report.errors.sort(key=lambda e: (e.row, e.column))
    return frame


def _word(column: pd.Series) -> pd.Series:
    return column.str.lower().str.replace(r"[\s\-]+", "_", regex=True)


def _numbers(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers as accountants write them: 1,234.5 and (1,234.5) for negatives.

    Returns the floats (NaN when empty or unreadable) and the exact text for storage.
    """
    text = column.str.replace(r"[\s,_]", "", regex=True)
    negative = text.str.fullmatch(r"\(.*\)")
    digits = text.str.strip("()")
    parsed = pd.to_numeric(digits, errors="coerce")
    parsed = parsed.where(~negative, -parsed)
    exact = digits.where(~negative, "-" + digits)
    return parsed, exact


def _check_parents(frame: pd.DataFrame, key: list[str], reject) -> None:
    totals = frame.loc[frame["is_total_parsed"], [*key, "metric"]].drop_duplicates()
    wanted = frame.loc[frame["parent"] != "", [*key, "parent"]].reset_index()
    found = wanted.merge(
        totals.rename(columns={"metric": "parent"}), on=[*key, "parent"], how="left", indicator=True
    )
    orphans = found.loc[found["_merge"] == "left_only", "index"]
    mask = frame.index.isin(orphans)
    reject(
        pd.Series(mask, index=frame.index),
        "parent",
        lambda i: f"{frame.at[i, 'parent']!r} is not a total line (is_total) of this statement",
    )


def _warn_duplicates(frame, key, line, report) -> None:
    repeated = frame[frame.duplicated([*key, "metric", "period_parsed"], keep=False)]
    if repeated.empty:
        return
    lines = ", ".join(str(n) for n in line[repeated.index][:20])
    report.warnings.append(
        f"{len(repeated)} rows repeat a metric for the same statement and period "
        f"(lines {lines}{' ...' if len(repeated) > 20 else ''}); they are imported as they "
        "are, and the duplicates check will report them."
    )


@transaction.atomic
def store(frame: pd.DataFrame, report: ImportReport, source: str) -> None:
    """Write validated rows: entities, statements (replacing existing ones), line items."""
    now = timezone.now()
    names = sorted(frame["entity"].unique())
    entities = {e.name: e for e in Entity.objects.filter(name__in=names)}
    report.new_entities = [n for n in names if n not in entities]
    for entity in Entity.objects.bulk_create([Entity(name=n) for n in report.new_entities]):
        entities[entity.name] = entity

    heads = frame.drop_duplicates(["entity", "statement_type", "period_end_parsed"])
    statements = {}
    for row in heads.itertuples(index=False):
        statement, created = Statement.objects.update_or_create(
            entity=entities[row.entity],
            statement_type=row.statement_type,
            period_end=row.period_end_parsed,
            defaults={"currency": row.currency, "source": source[:255], "updated_at": now},
        )
        if not created:
            statement.line_items.all().delete()
        statements[(row.entity, row.statement_type, row.period_end_parsed)] = statement
    report.statements = len(statements)
    report.statement_ids = sorted(s.pk for s in statements.values())

    # Totals first, so components can point at their ids.
    frame = frame.assign(line_no=frame.index + 2)
    total_rows = frame[frame["is_total_parsed"]]
    totals = LineItem.objects.bulk_create(_items(total_rows, statements, {}), batch_size=2000)
    total_ids = {}
    for item, row in zip(totals, total_rows.itertuples(index=False), strict=True):
        total_ids.setdefault((item.statement_id, row.metric), item.pk)
    # Subtotals (a total that is itself a component) get their parent now.
    nested = []
    for item, row in zip(totals, total_rows.itertuples(index=False), strict=True):
        if row.parent:
            item.parent_id = total_ids.get((item.statement_id, row.parent))
            nested.append(item)
    LineItem.objects.bulk_update(nested, ["parent"], batch_size=500)
    parts = LineItem.objects.bulk_create(
        _items(frame[~frame["is_total_parsed"]], statements, total_ids), batch_size=2000
    )
    report.line_items = len(totals) + len(parts)
    report.saved = True
    audit.record(
        "import",
        "dataquality.statement",
        file=report.filename,
        statements=report.statements,
        line_items=report.line_items,
        new_entities=len(report.new_entities),
    )


def _items(rows: pd.DataFrame, statements: dict, total_ids: dict) -> list[LineItem]:
    items = []
    for row in rows.itertuples(index=False):
        statement = statements[(row.entity, row.statement_type, row.period_end_parsed)]
        parent = total_ids.get((statement.pk, row.parent)) if row.parent else None
        value = None if pd.isna(row.value_parsed) else Decimal(row.value_text)
        items.append(
            LineItem(
                statement=statement,
                metric=row.metric,
                category=row.category,
                period=row.period_parsed,
                value=None if value is None else value.quantize(Decimal("0.0001")),
                is_total=bool(row.is_total_parsed),
                parent_id=parent,
                source_row=int(row.line_no),
            )
        )
    return items
