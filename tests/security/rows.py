"""One row of every model, so that every URL with an object in it has one to show.

Fields are filled from their type; a model added later gets its row without an
edit here. `_overrides` only makes some rows ones the admin actions have work on
(an enabled rule, an active silence, a firing alert, an email channel ...).
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import uuid

from django.apps import apps
from django.db import models
from django.utils import timezone

_counter = itertools.count(1)


def _overrides(label: str) -> dict:
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    if label == "alerts.rule":
        return {"enabled": True}
    if label == "alerts.silence":
        return {"starts_at": now - hour, "ends_at": now + hour}
    if label == "alerts.alert":
        return {"state": "firing", "started_at": now - hour, "fired_at": now - hour}
    if label == "alerts.channel":
        return {"kind": "email", "target": "ops@example.com", "enabled": True}
    if label == "dataquality.reportsubscription":
        return {"recipients": "owner@example.com", "active": True}
    return {}


def _value(field: models.Field):
    if field.is_relation:
        return row(field.related_model)
    if field.choices:
        return field.choices[0][0]
    n = next(_counter)
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, (models.IntegerField, models.AutoField)):
        return 1
    if isinstance(field, models.FloatField):
        return 1.0
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(1)
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate()
    if isinstance(field, models.TimeField):
        return datetime.time(9, 0)
    if isinstance(field, models.DurationField):
        return datetime.timedelta(minutes=1)
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.GenericIPAddressField):
        return "127.0.0.1"
    if isinstance(field, models.EmailField):
        return f"user{n}@example.com"
    if isinstance(field, models.URLField):
        return f"https://example.com/{n}"
    if isinstance(field, models.BinaryField):
        return b""
    text = f"{field.model._meta.model_name}-{field.name}-{n}"
    return text[: field.max_length] if field.max_length else text


def row(model: type[models.Model]) -> models.Model:
    """A row of the model: its first, or a new one (always new when it has overrides)."""
    if model._meta.label_lower == "dataquality.checkconfig":
        from dataquality.check_config import ensure_configs

        ensure_configs()  # one row per registered check, as its list page makes them
    values = _overrides(model._meta.label_lower)
    existing = model._default_manager.order_by("pk").first()
    if existing is not None and not values:
        return existing
    for field in model._meta.concrete_fields:
        skip = isinstance(field, models.AutoField) or field.null or field.has_default()
        if field.name in values or skip:
            continue
        values[field.name] = _value(field)
    return model._default_manager.create(**values)


def every_row() -> dict[type[models.Model], models.Model]:
    """A row of each concrete model that has a table."""
    return {
        model: row(model)
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table but the sessions and the logs of what was tried, to compare.

    Security events and audit entries record requests (a refused one included): that
    is their purpose, not a change of data.
    """
    skip = {"sessions.session", "admin.logentry", "security.securityevent", "audit.auditentry"}
    return {
        model._meta.label_lower: sorted(
            map(repr, model._default_manager.order_by("pk").values_list())
        )
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and model._meta.label_lower not in skip
    }
