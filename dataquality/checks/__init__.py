"""The registry of checks: each a small module, configured in the admin (CheckConfig)."""

from __future__ import annotations

from dataquality.checks.base import Check, CheckSettings, Param, ScanData
from dataquality.checks.duplicates import Duplicates
from dataquality.checks.equation import BalanceSheetEquation
from dataquality.checks.freshness import Freshness
from dataquality.checks.inconsistent import InconsistentValues
from dataquality.checks.missing import MissingData
from dataquality.checks.negatives import NegativeBalances
from dataquality.checks.outliers import Outliers
from dataquality.checks.totals import Totals

REGISTRY: dict[str, Check] = {
    check.key: check
    for check in (
        MissingData(),
        InconsistentValues(),
        Outliers(),
        BalanceSheetEquation(),
        NegativeBalances(),
        Totals(),
        Duplicates(),
        Freshness(),
    )
}

__all__ = ["REGISTRY", "Check", "CheckSettings", "Param", "ScanData", "get_check", "all_checks"]


def get_check(key: str) -> Check | None:
    return REGISTRY.get(key)


def all_checks() -> list[Check]:
    return list(REGISTRY.values())
