"""Receivers that turn auth, axes and /metrics signals into security events."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from config.metrics import metrics_token_checked
from security import events, models
from security.events import record

User = get_user_model()
# Fields of a user whose change is a security event.
WATCHED = ("is_staff", "is_superuser", "is_active", "password")


@receiver(user_logged_in, dispatch_uid="security.login")
def on_login(sender, request, user, **kwargs):
    record(models.LOGIN, request, user=user)


@receiver(user_login_failed, dispatch_uid="security.login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get(User.USERNAME_FIELD) or ""
    record(models.LOGIN_FAILED, request, username=str(username))


@receiver(user_logged_out, dispatch_uid="security.logout")
def on_logout(sender, request, user, **kwargs):
    record(models.LOGOUT, request, user=user)


@receiver(user_locked_out, dispatch_uid="security.lockout")
def on_lockout(sender, request, username, ip_address, **kwargs):
    """Axes signals every attempt refused while locked; one event per lock is enough."""
    try:
        since = timezone.now() - settings.AXES_COOLOFF_TIME
        already = models.SecurityEvent.objects.filter(
            kind=models.LOCKOUT, username=username or "", address=ip_address, at__gte=since
        ).exists()
    except Exception:
        already = False  # record() logs what is wrong with the database
    if not already:
        record(models.LOCKOUT, request, username=username or "", detail="login refused")


@receiver(metrics_token_checked, dispatch_uid="security.metrics_token")
def on_metrics_token(sender, request, accepted, **kwargs):
    """A wrong token each time; the right one once an hour per address (scrapes are many)."""
    if not accepted:
        record(models.TOKEN_REJECTED, request, detail="/metrics bearer token")
        return
    from django.core.cache import cache

    from config.client_address import client_address

    try:
        first = cache.add(f"security:token_used:{client_address(request)}", 1, timeout=3600)
    except Exception:  # the cache is down: better one event too many than none
        first = True
    if first:
        record(models.TOKEN_USED, request, detail="/metrics bearer token")


# --- users ------------------------------------------------------------------------


@receiver(pre_save, sender=User, dispatch_uid="security.user_before")
def remember_user(sender, instance, update_fields=None, raw=False, **kwargs):
    instance._security_before = None
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(WATCHED):
        return  # e.g. last_login on every login: nothing to compare
    try:
        instance._security_before = sender.objects.filter(pk=instance.pk).values(*WATCHED).first()
    except Exception:
        instance._security_before = None


@receiver(post_save, sender=User, dispatch_uid="security.user_after")
def on_user_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    name = instance.get_username()
    if created:
        record(models.USER_CREATED, subject=name, detail=_flags(instance))
        if instance.is_superuser:
            record(models.SUPERUSER_GRANTED, subject=name)
        return
    before = getattr(instance, "_security_before", None)
    if not before:
        return
    changes = []
    for field, on, off in (("is_staff", "made staff", "no longer staff"),
                           ("is_active", "activated", "deactivated")):  # fmt: skip
        if before[field] != getattr(instance, field):
            changes.append(on if getattr(instance, field) else off)
    if changes:
        record(models.USER_CHANGED, subject=name, detail=", ".join(changes))
    if before["is_superuser"] != instance.is_superuser:
        kind = models.SUPERUSER_GRANTED if instance.is_superuser else models.SUPERUSER_REVOKED
        record(kind, subject=name)
    if before["password"] != instance.password:
        record(models.PASSWORD_CHANGED, subject=name)


@receiver(post_delete, sender=User, dispatch_uid="security.user_deleted")
def on_user_deleted(sender, instance, **kwargs):
    request = events.current_request()
    actor = getattr(request, "user", None) if request is not None else None
    if actor is not None and actor.is_authenticated and actor.pk == instance.pk:
        # The row is gone: the event keeps the name only.
        record(models.USER_DELETED, username=actor.get_username(), user=None,
               subject=instance.get_username())  # fmt: skip
        return
    record(models.USER_DELETED, subject=instance.get_username())


def _flags(user) -> str:
    return ", ".join(
        word for word, on in (("staff", user.is_staff), ("superuser", user.is_superuser)) if on
    )


# --- groups and permissions ---------------------------------------------------------


@receiver(post_save, sender=Group, dispatch_uid="security.group_saved")
def on_group_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        record(models.GROUP_CHANGED, subject=instance.name, detail="created")


@receiver(post_delete, sender=Group, dispatch_uid="security.group_deleted")
def on_group_deleted(sender, instance, **kwargs):
    record(models.GROUP_CHANGED, subject=instance.name, detail="deleted")


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="security.user_groups")
def on_groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """user.groups.add(group) and group.user_set.add(user) alike."""
    pairs = _membership(
        instance, action, reverse, model, pk_set, "groups" if not reverse else "user_set"
    )
    for user, group in pairs:
        verb = "added to" if action == "post_add" else "removed from"
        record(models.GROUPS_CHANGED, subject=user.get_username(), detail=f"{verb} {group.name}")


@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="security.user_perms")
def on_user_permissions_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    accessor = "user_permissions" if not reverse else "user_set"
    for user, permission in _membership(instance, action, reverse, model, pk_set, accessor):
        record(models.PERMISSIONS_CHANGED, subject=user.get_username(),
               detail=f"{_verb(action)} {_permission_name(permission)}")  # fmt: skip


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="security.group_perms")
def on_group_permissions_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    accessor = "permissions" if not reverse else "group_set"
    for group, permission in _membership(instance, action, reverse, model, pk_set, accessor):
        record(models.PERMISSIONS_CHANGED, subject=f"group {group.name}",
               detail=f"{_verb(action)} {_permission_name(permission)}")  # fmt: skip


def _membership(instance, action, reverse, model, pk_set, accessor):
    """(owner, member) pairs of an add, remove or clear, whichever side it was made from.

    A clear names no members: they are remembered before it (pre_clear).
    """
    try:
        if action == "pre_clear":
            instance._security_cleared = list(getattr(instance, accessor).all())
            return []
        if action == "post_clear":
            others = getattr(instance, "_security_cleared", [])
            action = "post_remove"
        elif action in ("post_add", "post_remove"):
            others = list(model.objects.filter(pk__in=pk_set or ())) if pk_set else []
        else:
            return []
        pairs = [(other, instance) if reverse else (instance, other) for other in others]
        return sorted(pairs, key=lambda pair: (str(pair[0]), str(pair[1])))
    except Exception:
        events.log.exception("could not read a membership change")
        return []


def _verb(action: str) -> str:
    return "granted" if action == "post_add" else "revoked"


def _permission_name(permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"
