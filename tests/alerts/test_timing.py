"""How soon a condition is notified, driven the way beat drives the product.

A controlled clock steps 5 s at a time through what the processes do at
default settings: requests are recorded and flushed every 5 s
(MONITORING_FLUSH_SECONDS), the fold runs every 30 s, and the evaluation tick
every 60 s at :55 past the minute (beat's interval is counted from whenever it
started). The notification's time is read from the outbox and the Notification
row, never from the wall clock.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from alerts.evaluate import evaluate_rules
from alerts.models import Alert, Notification
from alerts.tasks import dispatch
from config import display_time
from monitoring import fold
from monitoring.recorder import REQUEST, Work
from monitoring.recorder import recorder as the_recorder
from tests.alerts.conftest import email, make_rule

pytestmark = pytest.mark.django_db
STEP = 5
TICK_PHASE = 55


@pytest.fixture
def recorder():
    the_recorder.reset()
    yield the_recorder
    the_recorder.reset()


def run(recorder, start: int, onset: int, until: int, slow_ms: float) -> int | None:
    """Traffic of 1 request/s (50 ms, `slow_ms` from `onset` on).

    Returns the moment of the tick after which the first e-mail was in the outbox.
    """
    for t in range(start, until, STEP):
        for second in range(t - STEP, t):
            latency = slow_ms if second >= onset else 50.0
            recorder.record(
                REQUEST, "/api/orders/", "GET", "2xx", latency, False, Work(), at=second + 0.5
            )
        assert recorder.flush()
        if t % 30 == 0:
            fold.fold(now=t)
        if t % 60 == TICK_PHASE:
            dispatch(evaluate_rules(now=datetime.fromtimestamp(t, UTC)).notifications)
            if mail.outbox:
                return t
    return None


@pytest.mark.parametrize(
    "phase", [0, 30, TICK_PHASE + 1], ids=["at :00", "at :30", "just after the tick"]
)
def test_a_latency_condition_is_notified_within_70_s(recorder, settings, phase):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_rule(
        [email()],
        name="Slow orders",
        source="monitoring.request_latency",
        aggregation="p95",
        window_minutes=5,
        threshold=1000,
    )
    base = (int(datetime.now(UTC).timestamp()) // 60 - 30) * 60
    onset = base + 6 * 60 + phase  # after six quiet minutes
    sent_at = run(recorder, base, onset, onset + 240, slow_ms=3000.0)

    assert sent_at is not None
    assert sent_at - onset <= 70, f"notified {sent_at - onset} s after the condition started"
    notification = Notification.objects.get(kind="firing")
    alert = Alert.objects.get()
    # The alert's times are the evaluation moment, not the minute it fell in.
    assert notification.created_at.timestamp() == sent_at
    assert alert.fired_at.timestamp() == alert.started_at.timestamp() == sent_at
    assert alert.fired_at.second == TICK_PHASE
    [message] = mail.outbox
    assert f"Fired:     {display_time.text(alert.fired_at, zone=True)}" in message.body


def test_a_partial_minute_does_not_lower_a_throughput(recorder, settings):
    """Throughput over the window read up to the moment is per minute of what was read."""
    from alerts.sources import Query, get_source

    base = (int(datetime.now(UTC).timestamp()) // 60 - 30) * 60
    for second in range(base, base + 6 * 60 + 20):
        recorder.record(REQUEST, "/api/orders/", "GET", "2xx", 50.0, False, Work(), at=second + 0.5)
    assert recorder.flush()
    fold.fold(now=base + 6 * 60 + 20)
    at = datetime.fromtimestamp(base + 6 * 60 + 20, UTC)
    query = Query.build("rate", timedelta(minutes=5))
    [answer] = get_source("monitoring.throughput").evaluate([query], at)
    # 5 whole minutes and 20 s of the current one: 320 requests over 320 s.
    assert answer[()] == pytest.approx(60.0)


def test_a_tick_starting_a_second_early_still_ends_the_for_period(clock):
    """Beat's ticks drift by a little: `for` 2 minutes is met by the second tick after."""
    make_rule(for_minutes=2, window_minutes=5)
    clock.feed([150] * 5)
    moments = [clock.minute(1) + timedelta(seconds=55), clock.minute(2) + timedelta(seconds=54.6)]
    moments.append(clock.minute(3) + timedelta(seconds=54.2))
    for moment in moments[:2]:
        evaluate_rules(now=moment)
    assert Alert.objects.get().state == "pending"
    evaluate_rules(now=moments[2])
    alert = Alert.objects.get()
    assert alert.state == "firing" and alert.fired_at == moments[2]
