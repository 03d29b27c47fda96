"""Synthetic financial statements with known, injected defects (seeded).

Used by the demo data and by the accuracy tests: `generate` returns rows in
the import format (one per line item) and the list of defects it injected, so
a test can compare what the checks find with what was planted. Each defect is
planted so that it trips its own check and no exact check of another kind
(totals are kept consistent where the defect is not about totals).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

# (metric, category, parent total, share of the statement's base amount)
BALANCE_SHEET = [
    ("cash", "assets", "total_assets", 0.10),
    ("receivables", "assets", "total_assets", 0.15),
    ("inventory", "assets", "total_assets", 0.12),
    ("prepaid_expenses", "assets", "total_assets", 0.03),
    ("property_plant_equipment", "assets", "total_assets", 0.40),
    ("intangible_assets", "assets", "total_assets", 0.20),
    ("accounts_payable", "liabilities", "total_liabilities", 0.12),
    ("accrued_liabilities", "liabilities", "total_liabilities", 0.06),
    ("short_term_debt", "liabilities", "total_liabilities", 0.08),
    ("long_term_debt", "liabilities", "total_liabilities", 0.25),
    ("deferred_tax", "liabilities", "total_liabilities", 0.04),
    ("share_capital", "equity", "total_equity", 0.15),
    # retained_earnings balances the sheet: assets - liabilities - share capital
    ("retained_earnings", "equity", "total_equity", None),
]
INCOME_STATEMENT = [
    ("product_revenue", "revenue", "total_revenue", 0.18),
    ("service_revenue", "revenue", "total_revenue", 0.07),
    ("cost_of_sales", "expenses", "total_expenses", 0.11),
    ("selling_expenses", "expenses", "total_expenses", 0.03),
    ("administrative_expenses", "expenses", "total_expenses", 0.025),
    ("research_and_development", "expenses", "total_expenses", 0.02),
    ("depreciation", "expenses", "total_expenses", 0.012),
    ("interest_expense", "expenses", "total_expenses", 0.005),
    ("income_tax", "expenses", "total_expenses", 0.01),
]
CASH_FLOW = [
    ("operating_cash_flow", "cash_flow", "net_change_in_cash", 0.05),
    ("investing_cash_flow", "cash_flow", "net_change_in_cash", -0.03),
    ("financing_cash_flow", "cash_flow", "net_change_in_cash", -0.015),
]
TOTAL_CATEGORY = {
    "total_assets": "assets",
    "total_liabilities": "liabilities",
    "total_equity": "equity",
    "total_revenue": "revenue",
    "total_expenses": "expenses",
    "net_change_in_cash": "cash_flow",
}
LAYOUT = {
    "balance_sheet": BALANCE_SHEET,
    "income_statement": INCOME_STATEMENT,
    "cash_flow": CASH_FLOW,
}
# Defect kinds, and the statement types each is planted in (see module docstring).
KINDS = {
    "missing_high": ("balance_sheet", "income_statement"),
    "missing_critical": ("balance_sheet",),
    "equation": ("balance_sheet",),
    "totals": ("balance_sheet", "income_statement"),
    "duplicates": ("balance_sheet", "income_statement", "cash_flow"),
    "negatives": ("income_statement",),
    "outliers": ("income_statement", "cash_flow"),
    # A balance sheet off balance with its total assets left empty.
    "equation_empty_total": ("balance_sheet",),
    # A side's total left empty with one of its components empty too.
    "equation_not_evaluable": ("balance_sheet",),
    # Operating cash flow negated in one quarter that has a later one.
    "sign_errors": ("cash_flow",),
    # Net income (a total line with no components) 20-60 times too large.
    "total_outliers": ("income_statement",),
}
# Lines an outlier is planted in: stable ones, where a 20x value is unmistakable.
OUTLIER_LINES = {
    "income_statement": [m for m, _, _, _ in INCOME_STATEMENT],
    "cash_flow": ["operating_cash_flow"],
}
NAMES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Massive Dynamic",
    "Aperture",
    "Oscorp",
    "Gringotts",
    "Monarch",
    "Dunder Mifflin",
    "Pied Piper",
    "Bluth",
    "Sterling Cooper",
    "Prestige Worldwide",
    "Nakatomi",
    "Virtucon",
]


@dataclass(frozen=True)
class Defect:
    kind: str
    entity: str
    statement_type: str
    period_end: date
    metric: str = ""

    @property
    def statement(self) -> tuple[str, str, date]:
        return (self.entity, self.statement_type, self.period_end)


@dataclass
class Dataset:
    rows: pd.DataFrame  # the import format: one row per line item, all text
    defects: list[Defect]
    stale_entities: list[str]

    def statements_with(self, *kinds: str) -> set[tuple[str, str, date]]:
        return {d.statement for d in self.defects if d.kind in kinds}


def quarter_ends(last: date, count: int) -> list[date]:
    ends = []
    year, month = last.year, last.month
    for _ in range(count):
        ends.append(date(year, month, 31 if month in (3, 12) else 30))
        month -= 3
        if month <= 0:
            month += 12
            year -= 1
    return sorted(ends)


def last_quarter_end(today: date, lag_days: int = 30) -> date:
    moment = today - timedelta(days=lag_days)
    month = (moment.month - 1) // 3 * 3
    if month == 0:
        return date(moment.year - 1, 12, 31)
    return date(moment.year, month, 31 if month in (3, 12) else 30)


def generate(
    seed: int,
    today: date,
    entities: int = 30,
    periods: tuple[int, int] = (3, 10),
    defects: dict[str, int] | None = None,
    stale: int = 1,
) -> Dataset:
    """Entities with quarterly statements of every type, and the defects asked for."""
    rng = random.Random(seed)  # noqa: S311  (reproducible test data, not secrets)
    names = [
        NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f" {i // len(NAMES) + 1}")
        for i in range(entities)
    ]
    latest = last_quarter_end(today)
    stale_names = names[:stale]
    statements = {}
    for name in names:
        end = latest if name not in stale_names else quarter_ends(latest, 6)[0]
        level = 10 ** rng.uniform(5, 10)
        weights = {m: rng.uniform(0.7, 1.3) for layout in LAYOUT.values() for m, *_ in layout}
        growth = rng.gauss(0.01, 0.01)
        for index, period_end in enumerate(quarter_ends(end, rng.randint(*periods))):
            base = level * (1 + growth) ** index
            for kind, layout in LAYOUT.items():
                statements[(name, kind, period_end)] = _statement(kind, layout, base, weights, rng)
    planted = _plant(statements, defects or {}, rng)
    return Dataset(_rows(statements), planted, stale_names)


def _statement(kind, layout, base, weights, rng) -> list[dict]:
    lines = []
    for metric, category, parent, share in layout:
        if share is None:
            continue
        value = base * share * weights[metric] * rng.gauss(1, 0.03)
        lines.append({"metric": metric, "category": category, "parent": parent, "value": value})
    if kind == "balance_sheet":
        assets = sum(x["value"] for x in lines if x["category"] == "assets")
        claims = sum(x["value"] for x in lines if x["category"] != "assets")
        lines.append(
            {
                "metric": "retained_earnings",
                "category": "equity",
                "parent": "total_equity",
                "value": assets - claims,
            }
        )
    for total in dict.fromkeys(x["parent"] for x in lines):
        value = sum(x["value"] for x in lines if x["parent"] == total)
        lines.append(
            {
                "metric": total,
                "category": TOTAL_CATEGORY[total],
                "parent": "",
                "value": value,
                "is_total": True,
            }
        )
    if kind == "income_statement":
        # A total line with no components, as exports give it: nothing sums it up.
        by_metric = {x["metric"]: x["value"] for x in lines}
        lines.append(
            {
                "metric": "net_income",
                "category": "income",
                "parent": "",
                "value": by_metric["total_revenue"] - by_metric["total_expenses"],
                "is_total": True,
            }
        )
    return lines


def _plant(statements: dict, wanted: dict[str, int], rng) -> list[Defect]:
    planted = []
    used: set = set()
    outlier_series: set = set()
    keys = sorted(statements)
    last = {}
    for entity, kind, period_end in keys:
        last[(entity, kind)] = max(period_end, last.get((entity, kind), period_end))
    for kind, count in wanted.items():
        candidates = [k for k in keys if k[1] in KINDS[kind] and k not in used]
        if kind == "sign_errors":
            # a later, correct quarter must follow: it is the one that used to be blamed
            candidates = [k for k in candidates if k[2] < last[k[:2]]]
        rng.shuffle(candidates)
        for key in candidates:
            if count == 0:
                break
            if kind in ONE_PER_HISTORY and (kind, *key[:2]) in outlier_series:
                continue  # one per history, so the median stays a clean value
            metric = _plant_one(kind, statements[key], rng)
            used.add(key)
            if kind in ONE_PER_HISTORY:
                outlier_series.add((kind, *key[:2]))
            planted.append(Defect(kind, key[0], key[1], key[2], metric))
            count -= 1
    return planted


def _plant_one(kind: str, lines: list[dict], rng) -> str:
    parts = [x for x in lines if not x.get("is_total")]
    by_metric = {x["metric"]: x for x in lines}
    if kind in ("missing_high", "missing_critical"):
        # >5 % (2 of 11-19 lines) or >20 % (5 of 19) of the values
        for line in rng.sample(parts, 2 if kind == "missing_high" else 5):
            line["value"] = None
        return ""
    if kind in ("equation", "equation_empty_total"):
        line = by_metric["property_plant_equipment"]
        delta = by_metric["total_assets"]["value"] * rng.uniform(0.05, 0.2)
        line["value"] += delta
        by_metric["total_assets"]["value"] += delta
        if kind == "equation_empty_total":
            by_metric["total_assets"]["value"] = None
        return "total_assets"
    if kind == "equation_not_evaluable":
        total = rng.choice(["total_assets", "total_liabilities", "total_equity"])
        by_metric[total]["value"] = None
        rng.choice([x for x in parts if x["parent"] == total])["value"] = None
        return total
    if kind == "sign_errors":
        line = by_metric["operating_cash_flow"]
        by_metric[line["parent"]]["value"] -= 2 * line["value"]
        line["value"] = -line["value"]
        return line["metric"]
    if kind == "total_outliers":
        by_metric["net_income"]["value"] *= rng.uniform(20, 60)
        return "net_income"
    if kind == "totals":
        line = rng.choice([x for x in parts if x["category"] in ("assets", "revenue")])
        line["value"] *= rng.uniform(1.1, 1.3)  # the total was not updated
        return line["parent"]
    if kind == "duplicates":
        line = rng.choice(parts)
        lines.append(dict(line))
        return line["metric"]
    if kind == "negatives":
        line = rng.choice([x for x in parts if x["category"] == "expenses"])
        by_metric[line["parent"]]["value"] -= 2 * line["value"]
        line["value"] = -line["value"]
        return line["metric"]
    # outliers: a value 20-60 times too large, its total kept consistent
    allowed = [x for x in parts if x["metric"] in OUTLIER_LINES_ALL]
    line = rng.choice(allowed)
    delta = line["value"] * (rng.uniform(20, 60) - 1)
    line["value"] += delta
    by_metric[line["parent"]]["value"] += delta
    return line["metric"]


OUTLIER_LINES_ALL = {m for lines in OUTLIER_LINES.values() for m in lines}
# Defects judged against the entity's other periods: one per history.
ONE_PER_HISTORY = {"outliers", "sign_errors", "total_outliers"}


def _rows(statements: dict) -> pd.DataFrame:
    records = []
    for (entity, kind, period_end), lines in statements.items():
        for line in lines:
            value = line["value"]
            records.append(
                {
                    "entity": entity,
                    "statement_type": kind,
                    "period_end": period_end.isoformat(),
                    "metric": line["metric"],
                    "category": line["category"],
                    "value": "" if value is None else f"{value:.2f}",
                    "is_total": "true" if line.get("is_total") else "false",
                    "parent": line["parent"],
                    "currency": "USD",
                }
            )
    return pd.DataFrame.from_records(records)


def to_csv(dataset: Dataset) -> bytes:
    return dataset.rows.to_csv(index=False).encode()
