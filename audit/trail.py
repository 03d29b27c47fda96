"""What is audited, and the writer: every save, delete and many-to-many change of
the configuration models below becomes an AuditEntry with each field's before -> after,
written on the same connection inside the change's transaction.
"""

from __future__ import annotations

import re
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from audit.models import AuditEntry
from config import audit

# The configuration whose changes are recorded (app_label.model_name).
AUDITED_MODELS = [
    "alerts.rule",
    "alerts.channel",
    "alerts.silence",
    "alerts.maintenancewindow",
    "dataquality.checkconfig",
    "dataquality.entity",
    "dataquality.reportsubscription",
    "rum.site",
    "django_celery_beat.periodictask",
    "django_celery_beat.intervalschedule",
    "django_celery_beat.crontabschedule",
    "django_celery_beat.clockedschedule",
    "django_celery_beat.solarschedule",
    "auth.user",
    "auth.group",
]
# Bookkeeping that changes on its own (each login, each run): not a configuration change.
IGNORED_FIELDS = {
    "auth.user": {"last_login"},
    "alerts.rule": {"eval_status", "eval_status_since"},
    "dataquality.reportsubscription": {"last_sent_at"},
    "django_celery_beat.periodictask": {"last_run_at", "total_run_count", "date_changed"},
}
# Secrets are recorded as "changed", never their value: by name, and fields that hold
# credentials under another name (a Slack or webhook URL carries its token).
SECRET_NAME = re.compile(r"secret|token|password|api_key|private_key", re.IGNORECASE)
SECRET_FIELDS = {"alerts.channel": {"target"}}
CHANGED = "changed"
MAX_REPR = 300


def audited_models() -> list[type[models.Model]]:
    return [apps.get_model(label) for label in AUDITED_MODELS if _installed(label)]


def _installed(label: str) -> bool:
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True


def is_audited(model) -> bool:
    return model in _audited


def label_of(model) -> str:
    return model._meta.label_lower


@cache
def tracked_fields(model) -> list[models.Field]:
    """Concrete fields whose changes count (no auto_now stamps, no bookkeeping)."""
    ignored = IGNORED_FIELDS.get(label_of(model), set())
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key
        and field.name not in ignored
        and not getattr(field, "auto_now", False)
    ]


def is_secret(model, field_name: str) -> bool:
    return bool(SECRET_NAME.search(field_name)) or field_name in SECRET_FIELDS.get(
        label_of(model), set()
    )


def plain(value):
    """A field value as JSON, equal for equal values however they were loaded."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def value_of(field, value):
    """As the field stores it (a float field given 900 holds 900.0), then as JSON."""
    with suppress(ValidationError):  # an invalid value is recorded as given
        value = field.to_python(value)
    return plain(value)


def snapshot(instance) -> dict:
    return {
        f.attname: value_of(f, f.value_from_object(instance))
        for f in tracked_fields(type(instance))
    }


def snapshots(model, pks, using="default") -> dict:
    """Stored values of these rows, {pk: {attname: value}}, in one query."""
    fields = tracked_fields(model)
    rows = model._base_manager.using(using).filter(pk__in=list(pks))
    return {
        row["pk"]: {f.attname: value_of(f, row[f.attname]) for f in fields}
        for row in rows.values("pk", *(f.attname for f in fields))
    }


def diff(model, before: dict | None, after: dict | None) -> dict:
    """{field: [before, after]} for the fields that differ; secrets as "changed"."""
    changes = {}
    for field in tracked_fields(model):
        old = before.get(field.attname) if before is not None else None
        new = after.get(field.attname) if after is not None else None
        if old == new:
            continue
        changes[field.name] = CHANGED if is_secret(model, field.name) else [old, new]
    return changes


def write(action, obj_or_label, *, changes, detail, actor, using="default") -> AuditEntry | None:
    """The one place AuditEntry rows are created (config.audit.record comes here too)."""
    if isinstance(obj_or_label, models.Model):
        model, object_id = label_of(type(obj_or_label)), str(obj_or_label.pk or "")
        object_repr = obj_or_label.__dict__.pop("_audit_repr", None) or str(obj_or_label)
    else:
        model, object_id, object_repr = str(obj_or_label), "", ""
    if not _table_exists(using):
        return None
    user = actor.who if actor else None
    return AuditEntry.objects.using(using).create(
        user_id=user.pk if user else None,
        username=user.get_username() if user else "",
        address=(actor.address if actor else "")[:45],
        source=(actor.source if actor else "")[:300],
        action=action[:40],
        model=model[:100],
        object_id=object_id[:64],
        object_repr=object_repr[:MAX_REPR],
        changes=changes,
        detail=plain(detail),
    )


_tables: set[str] = set()  # database aliases known to have the audit table


def _table_exists(using: str) -> bool:
    # A `migrate` saves audited rows (seeded schedules) before the audit table may exist.
    tables = connections[using].introspection.table_names
    if using not in _tables and AuditEntry._meta.db_table in tables():
        _tables.add(using)
    return using in _tables


def _write_current(action, obj_or_label, *, changes, detail, using="default"):
    write(
        action,
        obj_or_label,
        changes=changes,
        detail=detail,
        actor=audit.current_actor(),
        using=using,
    )


# --- Model signals -----------------------------------------------------------------------
_audited: set[type[models.Model]] = set()
_m2m_fields: dict[type[models.Model], models.ManyToManyField] = {}  # through -> field
# Admin actions diff what they touched themselves (queryset.update() sends no signal);
# rows written by signals meanwhile are noted so that nothing is recorded twice.
_seen: ContextVar[set | None] = ContextVar("audit_seen", default=None)


def _pre_save(sender, instance, raw, using, update_fields, **kwargs):
    if sender not in _audited or raw:
        return
    fields = tracked_fields(sender)
    if update_fields is not None:
        # save(update_fields=...) writes only those: the rest may differ in memory alone.
        fields = [f for f in fields if f.name in update_fields or f.attname in update_fields]
        if not fields:
            instance._audit_before = False  # only bookkeeping is written: nothing to record
            return
    before = None
    if instance.pk is not None and not instance._state.adding:
        before = snapshots(sender, [instance.pk], using).get(instance.pk)
    instance._audit_before = (before, {f.name for f in fields})


def _post_save(sender, instance, created, raw, using, **kwargs):
    if sender not in _audited or raw:
        return
    saved = instance.__dict__.pop("_audit_before", None)
    if saved is False:
        return
    before, written = saved if saved is not None else (None, None)
    changes = diff(sender, None if created else before, snapshot(instance))
    if written is not None:
        changes = {name: change for name, change in changes.items() if name in written}
    if not changes and not created:
        return
    _write_current(
        "create" if created else "update", instance, changes=changes, detail={}, using=using
    )
    _note_seen(sender, instance.pk)


def _pre_delete(sender, instance, using, **kwargs):
    # Named while it is whole: in a cascade, what its name reads (a periodic task's
    # schedule) may already be gone when post_delete runs.
    if sender in _audited:
        instance._audit_repr = str(instance)


def _post_delete(sender, instance, using, **kwargs):
    if sender not in _audited:
        return
    changes = diff(sender, snapshot(instance), None)
    _write_current("delete", instance, changes=changes, detail={}, using=using)
    _note_seen(sender, instance.pk)


def _m2m_changed(sender, instance, action, reverse, model, pk_set, using, **kwargs):
    field = _m2m_fields.get(sender)
    if field is None or type(instance) not in _audited:
        return
    name = field.remote_field.get_accessor_name() if reverse else field.name
    if action in ("pre_add", "pre_remove", "pre_clear"):
        current = getattr(instance, name).using(using).values_list("pk", flat=True)
        instance.__dict__.setdefault("_audit_m2m", {})[name] = set(current)
        return
    before = instance.__dict__.get("_audit_m2m", {}).pop(name, None)
    if before is None:
        return
    if action == "post_add":
        after = before | set(pk_set or ())
    elif action == "post_remove":
        after = before - set(pk_set or ())
    else:
        after = set()
    if after == before:
        return
    names = {o.pk: str(o) for o in model._base_manager.using(using).filter(pk__in=before | after)}
    changes = {
        name: [
            sorted(names.get(pk, str(pk)) for pk in before),
            sorted(names.get(pk, str(pk)) for pk in after),
        ]
    }
    _write_current("update", instance, changes=changes, detail={}, using=using)
    _note_seen(type(instance), instance.pk)


def _note_seen(model, pk):
    seen = _seen.get()
    if seen is not None:
        seen.add((model, pk))


@contextmanager
def noting_seen():
    """Collect the (model, pk) of every row the signals record inside."""
    seen: set = set()
    token = _seen.set(seen)
    try:
        yield seen
    finally:
        _seen.reset(token)


def connect() -> None:
    """Start recording (the app does this at start-up)."""
    _audited.update(audited_models())
    for model in _audited:
        pre_save.connect(_pre_save, sender=model, dispatch_uid=f"audit-pre-{label_of(model)}")
        post_save.connect(_post_save, sender=model, dispatch_uid=f"audit-post-{label_of(model)}")
        pre_delete.connect(
            _pre_delete, sender=model, dispatch_uid=f"audit-predel-{label_of(model)}"
        )
        post_delete.connect(_post_delete, sender=model, dispatch_uid=f"audit-del-{label_of(model)}")
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            _m2m_fields[through] = field
            m2m_changed.connect(
                _m2m_changed, sender=through, dispatch_uid=f"audit-m2m-{label_of(through)}"
            )
    audit.set_writer(_record)


def disconnect() -> None:
    """Stop recording (the overhead benchmark measures the difference)."""
    for model in _audited:
        pre_save.disconnect(sender=model, dispatch_uid=f"audit-pre-{label_of(model)}")
        post_save.disconnect(sender=model, dispatch_uid=f"audit-post-{label_of(model)}")
        pre_delete.disconnect(sender=model, dispatch_uid=f"audit-predel-{label_of(model)}")
        post_delete.disconnect(sender=model, dispatch_uid=f"audit-del-{label_of(model)}")
    for through in _m2m_fields:
        m2m_changed.disconnect(sender=through, dispatch_uid=f"audit-m2m-{label_of(through)}")
    _audited.clear()
    _m2m_fields.clear()
    audit.set_writer(None)


def _record(action, obj_or_label, *, changes, detail, actor):
    write(action, obj_or_label, changes=changes, detail=detail, actor=actor)
