"""Who to tell, and when: firing, repeat, escalation and resolved notifications.

Planning runs inside the evaluation tick over alerts already in memory. Each
planned message becomes a Notification row with an idempotency key naming the
alert, the occasion and the channel, so planning the same message twice (a
re-run tick, a retried task) never sends it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F

from alerts.messages import snapshot
from alerts.models import Alert, AlertState, Channel, Notification, NotificationKind, Rule
from alerts.states import elapsed


@dataclass(frozen=True)
class Plan:
    alert: Alert
    rule: Rule
    kind: str
    # Which of the rule's channel lists to use: "channels" or "escalation_channels".
    audience: tuple[str, ...]
    sequence: int = 0


def plan_for(alert: Alert, rule: Rule, at: datetime, just_resolved: bool) -> list[Plan]:
    """Decide what `alert` needs told now, and update its bookkeeping to match."""
    if alert.silenced:
        return []
    if just_resolved:
        if alert.notified_at is None:
            return []  # nobody heard it fire, nobody needs to hear it resolve
        audience = ("channels", "escalation_channels") if alert.escalated_at else ("channels",)
        return [Plan(alert, rule, NotificationKind.RESOLVED, audience)]
    if alert.state != AlertState.FIRING:
        return []
    if alert.notified_at is None:
        alert.notified_at = alert.last_notified_at = at
        return [Plan(alert, rule, NotificationKind.FIRING, ("channels",))]
    if alert.acknowledged_at is not None:
        return []
    plans = []
    if rule.repeat_minutes and elapsed(
        alert.last_notified_at, at, timedelta(minutes=rule.repeat_minutes)
    ):
        alert.repeats += 1
        alert.last_notified_at = at
        plans.append(Plan(alert, rule, NotificationKind.REPEAT, ("channels",), alert.repeats))
    if (
        rule.escalate_after_minutes
        and alert.escalated_at is None
        and elapsed(alert.notified_at, at, timedelta(minutes=rule.escalate_after_minutes))
    ):
        alert.escalated_at = at
        plans.append(Plan(alert, rule, NotificationKind.ESCALATION, ("escalation_channels",)))
    return plans


def idempotency_key(alert_id: int, kind: str, sequence: int, channel_id: int) -> str:
    return f"alert-{alert_id}:{kind}:{sequence}:channel-{channel_id}"


def enabled_channels(rule_ids: Iterable[int]) -> dict[tuple[int, str], list[Channel]]:
    """(rule id, "channels" | "escalation_channels") → enabled channels, in two queries."""
    rule_ids = list(set(rule_ids))
    found: dict[tuple[int, str], list[Channel]] = defaultdict(list)
    if not rule_ids:
        return found
    for audience, related in (("channels", "rules"), ("escalation_channels", "escalating_rules")):
        rows = Channel.objects.filter(enabled=True, **{f"{related}__in": rule_ids}).annotate(
            for_rule=F(f"{related}__id")
        )
        for channel in rows:
            found[(channel.for_rule, audience)].append(channel)
    return found


def build_notifications(plans: list[Plan], at: datetime) -> list[Notification]:
    """Unsaved Notification rows for the plans, one per (plan, enabled channel)."""
    channels = enabled_channels(plan.rule.pk for plan in plans)
    rows = []
    for plan in plans:
        targets = {
            c.pk: c for audience in plan.audience for c in channels[(plan.rule.pk, audience)]
        }
        if not targets:
            continue
        context = snapshot(plan.alert, plan.rule, plan.kind, at)
        for channel in targets.values():
            rows.append(
                Notification(
                    alert=plan.alert,
                    channel=channel,
                    kind=plan.kind,
                    idempotency_key=idempotency_key(
                        plan.alert.pk, plan.kind, plan.sequence, channel.pk
                    ),
                    context=context,
                    created_at=at,
                    next_attempt_at=at,
                )
            )
    return rows


def save_notifications(rows: list[Notification]) -> list[int]:
    """Insert the rows (duplicates of earlier ones are ignored); ids of those still to send."""
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    keys = [row.idempotency_key for row in rows]
    return list(
        Notification.objects.filter(
            idempotency_key__in=keys, status=Notification.Status.PENDING
        ).values_list("pk", flat=True)
    )
