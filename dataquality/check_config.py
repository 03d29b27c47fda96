"""The checks' settings as configured in the admin, with the registry's defaults."""

from __future__ import annotations

from dataquality.checks import REGISTRY, CheckSettings
from dataquality.models import CheckConfig


def ensure_configs() -> None:
    """One CheckConfig row per registered check, so each can be edited in the admin."""
    existing = set(CheckConfig.objects.values_list("check_key", flat=True))
    CheckConfig.objects.bulk_create(
        [
            CheckConfig(check_key=key, severity=check.default_severity, params=check.defaults())
            for key, check in REGISTRY.items()
            if key not in existing
        ],
        ignore_conflicts=True,
    )


def current_settings() -> dict[str, CheckSettings]:
    """Every registered check's settings: the saved ones, else the defaults."""
    saved = {c.check_key: c for c in CheckConfig.objects.all()}
    found = {}
    for key, check in REGISTRY.items():
        config = saved.get(key)
        params = check.defaults()
        if config is None:
            found[key] = CheckSettings(True, check.default_severity, params)
            continue
        # A parameter saved before a check gained a new one keeps the new default.
        params.update({k: v for k, v in (config.params or {}).items() if k in params})
        found[key] = CheckSettings(config.enabled, config.severity, params)
    return found
