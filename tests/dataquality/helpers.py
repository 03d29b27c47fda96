"""Small hand-made statements for the checks' unit tests."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from dataquality import importer

HEADER = "entity,statement_type,period_end,metric,category,value,is_total,parent"


def recent_period() -> str:
    return (timezone.now().date() - timedelta(days=30)).isoformat()


def balance_sheet(
    entity="Acme",
    period=None,
    assets=(600, 400),
    liabilities=(500,),
    equity=(500,),
    total_assets=None,
):
    period = period or recent_period()
    lines = [HEADER]
    total = sum(v for v in assets if v is not None) if total_assets is None else total_assets
    lines.append(f"{entity},balance_sheet,{period},total_assets,assets,{total},true,")
    for i, value in enumerate(assets):
        shown = "" if value is None else value
        lines.append(f"{entity},balance_sheet,{period},asset_{i},assets,{shown},false,total_assets")
    for i, value in enumerate(liabilities):
        lines.append(f"{entity},balance_sheet,{period},liability_{i},liabilities,{value},false,")
    for i, value in enumerate(equity):
        lines.append(f"{entity},balance_sheet,{period},equity_{i},equity,{value},false,")
    return "\n".join(lines) + "\n"


def income_series(entity, values, metric="revenue", category="revenue", start_year=2023):
    """One income statement per quarter, one line each."""
    lines = [HEADER]
    for i, value in enumerate(values):
        year, quarter = start_year + i // 4, i % 4
        period = date(year, 3 * quarter + 3, 31 if quarter in (0, 3) else 30).isoformat()
        lines.append(f"{entity},income_statement,{period},{metric},{category},{value},false,")
    return "\n".join(lines) + "\n"


def load_csv(text: str, name="test.csv"):
    report = importer.import_file(text.encode(), name)
    assert report.ok, [str(e) for e in report.errors]
    return report


def join(*csv_texts: str) -> str:
    """Several CSV texts with the same header, as one file."""
    first, *rest = csv_texts
    return first + "".join(t.split("\n", 1)[1] for t in rest)
