"""The evaluation tick: every enabled rule, one `evaluate` call per metric source.

1. measure: rules are grouped by source; each source answers all its rules'
   (distinct) queries from one load, so the number of queries does not grow
   with the number of rules sharing a source.
2. apply: inside one transaction, the state machine (alerts/states.py) moves
   each rule's label sets on; transitions become AlertEvent rows, and the
   notifications they call for become Notification rows, all in bulk.
3. the notifications to send are returned (`Tick.notifications`); the task
   (alerts/tasks.py) queues one delivery per notification, after the commit.
"""

from __future__ import annotations

import logging
import math
import socket
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from alerts import notify, sources
from alerts.bulk import update_many
from alerts.models import Alert, AlertEvent, AlertState, Notification, Rule
from alerts.models.alerts import OPEN_STATES, labels_key
from alerts.silencing import Silencer
from alerts.sources import Labels
from alerts.states import (
    ALERT,
    FIRING,
    INACTIVE,
    PENDING,
    RESOLVED,
    Track,
    Transition,
    clear,
    step,
)

log = logging.getLogger(__name__)

HEARTBEAT = "alerts-evaluation"
# Rows per INSERT (Django lowers it to what the database accepts).
BATCH = 10_000
# A delivery task not started this long after it was due is sent again (lost message).
STALE_DELIVERY = timedelta(minutes=5)
STATUS_OK, STATUS_NO_DATA, STATUS_UNAVAILABLE = "ok", "no data", "source unavailable"
ALERT_FIELDS = [
    "state",
    "value",
    "fired_at",
    "resolved_at",
    "evaluated_at",
    "no_data_since",
    "silenced",
    "notified_at",
    "last_notified_at",
    "repeats",
    "escalated_at",
]


@dataclass
class Tick:
    at: datetime
    rules: int = 0
    transitions: int = 0
    notifications: list[int] = field(default_factory=list)
    skipped: bool = False


def tick_time(now: datetime) -> datetime:
    """The whole minute the backtest steps from (the grain of the rollups)."""
    return now.replace(second=0, microsecond=0)


def evaluate_rules(now: datetime | None = None) -> Tick:
    # The moment itself, not its minute: sources read up to it, and the alert's
    # times (started, fired, resolved) are when the tick saw the condition.
    at = now or timezone.now()
    rules = list(Rule.objects.filter(enabled=True))
    values, statuses = measure(rules, at)
    with transaction.atomic():
        if not _tick_lock():
            log.info("another evaluation tick is running; skipping %s", at)
            return Tick(at, skipped=True)
        tick = apply(rules, values, at)
        _record_statuses(rules, statuses, at)
        tick.notifications += _overdue_notifications(at)
        _record_heartbeat()
    return tick


def measure(rules: list[Rule], at: datetime) -> tuple[dict[int, dict], dict[int, str]]:
    """Each rule's values per label set (absent when its source cannot answer), and status."""
    by_source: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_source[rule.source].append(rule)
    values: dict[int, dict[Labels, float]] = {}
    statuses: dict[int, str] = {}
    for key, group in by_source.items():
        try:
            source = sources.get_source(key)
        except sources.SourceError:
            statuses.update((rule.pk, STATUS_UNAVAILABLE) for rule in group)
            continue
        asked: list[tuple[Rule, sources.Query]] = []
        for rule in group:
            try:
                query = rule.query()
                rule.condition()
                source.validate(query)
            except (ValueError, TypeError) as exc:  # SourceError is a ValueError
                statuses[rule.pk] = f"invalid: {exc}"
                continue
            asked.append((rule, query))
        if not asked:
            continue
        distinct = list(dict.fromkeys(query for _, query in asked))
        try:
            answers = dict(zip(distinct, source.evaluate(distinct, at), strict=True))
        except Exception as exc:  # one broken source must not stop the other rules
            log.exception("metric source %s failed", key)
            statuses.update((rule.pk, f"error: {type(exc).__name__}: {exc}") for rule, _ in asked)
            continue
        for rule, query in asked:
            answer = {labels: v for labels, v in answers[query].items() if _usable(v)}
            values[rule.pk] = answer
            statuses[rule.pk] = STATUS_OK if answer else STATUS_NO_DATA
    return values, statuses


def _valid(rule: Rule) -> bool:
    try:
        rule.condition()
    except (ValueError, TypeError):
        return False
    return True


def _usable(value) -> bool:
    return value is not None and math.isfinite(value)


def apply(rules: list[Rule], values: dict[int, dict], at: datetime) -> Tick:
    tick = Tick(at, rules=len(rules))
    enabled = {rule.pk: rule for rule in rules}
    open_alerts: dict[int, dict[str, Alert]] = defaultdict(dict)
    events: list[AlertEvent] = []
    existing: list[Alert] = []
    for alert in Alert.objects.filter(state__in=OPEN_STATES):
        if alert.rule_id in enabled:
            open_alerts[alert.rule_id][alert.labels_key] = alert
        else:
            _close(alert, at, events, "rule disabled or removed")
            existing.append(alert)
    silencer = Silencer.load(at)
    created: list[Alert] = []
    plans: list[notify.Plan] = []
    for rule in rules:
        answer = values.get(rule.pk)
        current = open_alerts.get(rule.pk, {})
        if not _valid(rule):
            # Broken behind the form's back: its alerts stay as they are until it is fixed.
            existing += current.values()
            continue
        if answer is None:
            # Source unavailable, invalid or failing: states stay, reminders go on.
            for alert in current.values():
                alert.silenced = silencer.silenced(rule, alert.label_set)
                plans += notify.plan_for(alert, rule, at, just_resolved=False)
                existing.append(alert)
            continue
        condition = rule.condition()
        label_sets = {labels_key(labels): labels for labels in answer}
        label_sets.update((key, alert.label_set) for key, alert in current.items())
        if not answer and condition.no_data == ALERT:
            # Nothing answered at all: one "no data" alert for the whole rule.
            label_sets.setdefault("", ())
        for key, labels in label_sets.items():
            alert = current.get(key)
            value = answer.get(labels)
            track = alert.track() if alert else Track()
            if key == "" and rule.group_by and answer:
                # The whole rule's "no data" alert: data is back.
                _, transitions = clear(track, at)
            else:
                _, transitions = step(condition, track, value, at)
            if alert is None and not transitions:
                continue
            if alert is None:
                alert = Alert(rule=rule, labels=dict(labels), labels_key=key, started_at=at)
                created.append(alert)
            else:
                existing.append(alert)
            _observe(alert, value, at)
            for transition in transitions:
                _take(alert, transition)
                events.append(_event(alert, transition))
            tick.transitions += len(transitions)
            alert.silenced = silencer.silenced(rule, labels)
            just_resolved = any(t.state == RESOLVED for t in transitions)
            plans += notify.plan_for(alert, rule, at, just_resolved)
    Alert.objects.bulk_create(created, batch_size=BATCH)
    update_many(Alert, existing, ALERT_FIELDS)
    for event in events:
        event.alert_id = event.alert.pk
    AlertEvent.objects.bulk_create(events, batch_size=BATCH)
    tick.notifications = notify.save_notifications(notify.build_notifications(plans, at))
    return tick


def _observe(alert: Alert, value: float | None, at: datetime) -> None:
    alert.evaluated_at = at
    if value is None:
        alert.no_data_since = alert.no_data_since or at
    else:
        alert.value, alert.no_data_since = value, None


def _take(alert: Alert, transition: Transition) -> None:
    if transition.state == PENDING:
        alert.state = AlertState.PENDING
    elif transition.state == FIRING:
        alert.state, alert.fired_at = AlertState.FIRING, transition.at
    elif transition.state == RESOLVED:
        alert.state, alert.resolved_at = AlertState.RESOLVED, transition.at
    elif transition.state == INACTIVE:
        alert.state, alert.resolved_at = AlertState.CLEARED, transition.at


def _event(alert: Alert, transition: Transition, note: str = "") -> AlertEvent:
    return AlertEvent(
        alert=alert,
        at=transition.at,
        previous=transition.previous,
        state=transition.state,
        value=transition.value,
        note=note,
    )


def _close(alert: Alert, at: datetime, events: list[AlertEvent], note: str) -> None:
    previous = alert.state
    alert.state, alert.resolved_at, alert.evaluated_at = AlertState.RESOLVED, at, at
    events.append(_event(alert, Transition(at, previous, RESOLVED, alert.value), note))


def close_open_alerts(rule: Rule, note: str, at: datetime | None = None) -> int:
    """Close a rule's open alerts without notifying (its question changed or it went away)."""
    at = at or timezone.now()
    events: list[AlertEvent] = []
    alerts = list(Alert.objects.filter(rule=rule, state__in=OPEN_STATES))
    for alert in alerts:
        _close(alert, at, events, note)
    update_many(Alert, alerts, ["state", "resolved_at", "evaluated_at"])
    AlertEvent.objects.bulk_create(events)
    return len(alerts)


def _record_statuses(rules: list[Rule], statuses: dict[int, str], at: datetime) -> None:
    changed = []
    for rule in rules:
        status = statuses.get(rule.pk, "")[:300]
        if status != rule.eval_status:
            rule.eval_status, rule.eval_status_since = status, at
            changed.append(rule)
    update_many(Rule, changed, ["eval_status", "eval_status_since"])


def _overdue_notifications(at: datetime) -> list[int]:
    """Deliveries whose task seems lost (broker restart, worker killed): send them again."""
    overdue = at - STALE_DELIVERY
    waiting = Q(
        status__in=[Notification.Status.PENDING, Notification.Status.RETRYING],
        next_attempt_at__lt=overdue,
    )
    stuck = Q(status=Notification.Status.SENDING, claimed_at__lt=overdue)
    return list(Notification.objects.filter(waiting | stuck).values_list("pk", flat=True))


def _tick_lock() -> bool:
    """On PostgreSQL, one tick at a time (SQLite's write lock serialises them anyway)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [7_424_101])
        return bool(cursor.fetchone()[0])


def _record_heartbeat() -> None:
    """When the last tick ran (one query once the row exists)."""
    from config.models import Heartbeat

    now, host = timezone.now(), socket.gethostname()
    if not Heartbeat.objects.filter(name=HEARTBEAT).update(last_seen=now, hostname=host):
        # Only ticks write this row, one at a time (the tick lock).
        Heartbeat.objects.create(name=HEARTBEAT, last_seen=now, hostname=host)
