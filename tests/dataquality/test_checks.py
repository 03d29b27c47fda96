"""Each check on small, hand-made statements: when it fires, when it stays quiet."""

import pytest

from dataquality.models import CheckConfig, Finding
from tests.dataquality.conftest import load, scan_all
from tests.dataquality.helpers import balance_sheet, income_series, join, load_csv

pytestmark = pytest.mark.django_db


def findings(check):
    return list(Finding.objects.filter(check_key=check).select_related("statement"))


def configure(check, **params):
    from dataquality.check_config import ensure_configs

    ensure_configs()
    config = CheckConfig.objects.get(check_key=check)
    config.params = {**config.params, **params}
    config.save()


def test_a_balanced_sheet_passes_the_equation():
    load_csv(balance_sheet(assets=(600, 400), liabilities=(500,), equity=(500,)))
    scan_all()
    assert findings("balance_equation") == []


def test_the_equation_tolerates_one_percent_or_1000():
    # 1,000,000 of assets, off by 9,000 (< 1 %): fine; off by 20,000: not.
    load_csv(
        join(
            balance_sheet("Big", assets=(1_000_000,), liabilities=(600_000,), equity=(391_000,)),
            balance_sheet("Off", assets=(1_000_000,), liabilities=(600_000,), equity=(380_000,)),
            balance_sheet("Small", assets=(5_000,), liabilities=(2_000,), equity=(2_100,)),
        )
    )
    scan_all()
    [finding] = findings("balance_equation")
    assert finding.statement.entity.name == "Off"
    assert finding.severity == "critical"
    assert "Assets 1,000,000 ≠ liabilities 600,000 + equity 380,000 (off by 20,000)" in (
        finding.description
    )


def test_a_total_that_does_not_add_up_is_reported_with_its_rows():
    load_csv(balance_sheet(assets=(600, 400), liabilities=(600,), equity=(500,), total_assets=1100))
    scan_all()
    [finding] = findings("totals")
    assert finding.affected_rows == 1
    assert "total_assets is 1,100, its components add up to 1,000" in finding.description
    # the balance sheet itself balances on its totals: no equation finding
    assert findings("balance_equation") == []


def test_a_total_with_a_missing_component_is_left_to_the_missing_data_check():
    load_csv(balance_sheet(assets=(600, None), liabilities=(100,), equity=(500,), total_assets=600))
    scan_all()
    assert findings("totals") == []
    [missing] = findings("missing_data")
    assert missing.severity == "high"  # 1 of 5 values: 20 %, not above 20 %
    assert "1 of 5 values are missing (20.0 %)" in missing.description


def test_missing_data_thresholds_follow_the_admin_settings():
    load_csv(balance_sheet(assets=(600, None), liabilities=(100,), equity=(500,), total_assets=600))
    configure("missing_data", high_percent=30.0, critical_percent=50.0)
    scan_all()
    assert findings("missing_data") == []


def test_negative_values_are_flagged_only_in_categories_that_forbid_them():
    load_csv(balance_sheet(assets=(1200, -200), liabilities=(600,), equity=(-100, 500)))
    scan_all()
    [finding] = findings("negative_balances")
    assert finding.affected_rows == 1  # the negative asset; negative equity is allowed


def test_duplicates_list_every_repeated_line():
    text = balance_sheet(assets=(600, 400), liabilities=(500,), equity=(500,))
    repeated = text.strip().split("\n")[-1]
    load_csv(text + repeated + "\n")
    scan_all()
    [finding] = findings("duplicates")
    assert finding.affected_rows == 2
    assert len(finding.sample_ids) == 2


def test_a_jump_beyond_the_threshold_is_an_inconsistent_value():
    load_csv(income_series("Acme", [100, 110, 340, 350]))  # +209 %
    scan_all()
    [finding] = findings("inconsistent_values")
    assert finding.statement.period_end.isoformat() == "2023-09-30"


def test_a_lasting_change_of_level_is_flagged_once_where_it_starts():
    load_csv(income_series("Acme", [100, 105, 102, 400, 410, 405, 398]))
    scan_all()
    [finding] = findings("inconsistent_values")
    assert finding.statement.period_end.isoformat() == "2023-12-31"


def test_a_balance_sheet_without_a_side_is_not_evaluable():
    load_csv(balance_sheet(assets=(600, 400), liabilities=(500,), equity=()))
    scan_all()
    [finding] = findings("balance_equation")
    assert finding.severity == "medium"
    assert finding.description == (
        "Not evaluable: there are no equity lines, so assets = liabilities + equity "
        "cannot be checked."
    )


def test_the_inconsistency_threshold_is_configurable():
    load_csv(income_series("Acme", [100, 110, 340, 350]))
    configure("inconsistent_values", max_change_percent=250.0)
    scan_all()
    assert findings("inconsistent_values") == []


def test_an_outlier_is_found_in_a_series_of_three_periods():
    # A z-score cannot exceed (n-1)/sqrt(n) = 1.15 here; ours is not bounded by n.
    load_csv(
        join(
            income_series("Acme", [100, 4000, 104]),
            income_series("Globex", [1e6, 1.02e6, 1.05e6, 0.98e6]),
        )
    )
    scan_all()
    [finding] = findings("outliers")
    assert finding.statement.entity.name == "Acme"
    assert finding.statement.period_end.isoformat() == "2023-06-30"


def test_outliers_stay_quiet_on_clean_data_of_very_different_scales(small_dataset):
    load(small_dataset)
    scan_all()
    assert findings("outliers") == []
    exact = ["balance_equation", "totals", "duplicates", "missing_data", "negative_balances"]
    assert Finding.objects.filter(check_key__in=exact).count() == 0


def test_a_disabled_check_reports_nothing():
    from dataquality.check_config import ensure_configs

    load_csv(balance_sheet(assets=(1200, -200), liabilities=(600,), equity=(400,)))
    ensure_configs()
    CheckConfig.objects.filter(check_key="negative_balances").update(enabled=False)
    scan_all()
    assert findings("negative_balances") == []


def test_freshness_flags_an_entity_past_its_cadence_and_grace(today):
    from datetime import timedelta

    old = (today - timedelta(days=92 + 45 + 5)).isoformat()
    recent = (today - timedelta(days=30)).isoformat()
    load_csv(join(balance_sheet("Late", period=old), balance_sheet("OnTime", period=recent)))
    scan_all()
    [finding] = findings("freshness")
    assert finding.statement.entity.name == "Late"
    assert "one is expected every 92 days" in finding.description
