"""Every admin action of every ModelAdmin is recorded: who, which action, which objects.

For an audited model, each object's fields are compared before and after the
action too: actions often use queryset.update(), which no model signal sees.
"""

from __future__ import annotations

import functools

from django.db import transaction

from audit import trail
from config import audit

MAX_OBJECTS = 1000


def install(site) -> None:
    for model_admin in site._registry.values():
        if not getattr(model_admin.get_actions, "audited", False):
            model_admin.get_actions = _audited_get_actions(model_admin.get_actions)


def _audited_get_actions(get_actions):
    @functools.wraps(get_actions)
    def audited_get_actions(request):
        return {
            name: (_audited(func, name), action_name, description)
            for name, (func, action_name, description) in get_actions(request).items()
        }

    audited_get_actions.audited = True
    return audited_get_actions


def _audited(func, name):
    @functools.wraps(func)
    def run(modeladmin, request, queryset):
        if name == "delete_selected" and not request.POST.get("post"):
            return func(modeladmin, request, queryset)  # the confirmation page: nothing done
        with transaction.atomic():
            response = run_recorded(func, name, modeladmin, request, queryset)
        return response

    return run


def run_recorded(func, name, modeladmin, request, queryset):
    model = queryset.model
    pks = list(queryset.order_by().values_list("pk", flat=True)[: MAX_OBJECTS + 1])
    audited = trail.is_audited(model)
    before = trail.snapshots(model, pks) if audited else {}
    with trail.noting_seen() as seen:
        response = func(modeladmin, request, queryset)
    if audited:
        after = trail.snapshots(model, pks)
        changed = {
            pk: trail.diff(model, before.get(pk), after.get(pk))
            for pk in pks
            if (model, pk) not in seen
        }
        objects = model._base_manager.in_bulk([pk for pk, c in changed.items() if c])
        for pk, changes in changed.items():
            if changes:
                target = objects.get(pk) or trail.label_of(model)
                audit.record("update" if pk in after else "delete", target, changes=changes)
    audit.record(
        "admin action",
        trail.label_of(model),
        name=name,
        objects=[str(pk) for pk in pks[:MAX_OBJECTS]],
        count=len(pks) if len(pks) <= MAX_OBJECTS else f"more than {MAX_OBJECTS}",
    )
    return response
