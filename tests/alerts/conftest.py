from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts import sources
from alerts.evaluate import evaluate_rules
from alerts.models import Channel, Rule
from alerts.sources import MetricSource
from alerts.tasks import dispatch
from tests.alerts.receivers import HttpReceiver, SmtpReceiver


class MemorySource(MetricSource):
    """A metric over samples kept in memory: (time, value) per host."""

    key = "test.metric"
    label = "Test metric"
    unit = "ms"
    aggregations = ("avg", "max", "last")
    labels = ("host",)

    def __init__(self):
        self.samples: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        self.loads = 0

    def add(self, at: datetime, value: float, host: str = "web-1") -> None:
        bisect.insort(self.samples[host], (at, value))

    def load(self, queries, start, end):
        self.loads += 1
        return {
            host: [(t, v) for t, v in points if start <= t < end]
            for host, points in self.samples.items()
        }

    def compute(self, data, query, at):
        grouped = defaultdict(list)
        wanted = query.params.get("host")
        for host, points in data.items():
            if wanted and host != wanted:
                continue
            key = (("host", host),) if "host" in query.group_by else ()
            lo = bisect.bisect_left(points, (at - query.window,))
            hi = bisect.bisect_left(points, (at,))
            grouped[key] += [v for _, v in points[lo:hi]]
        pick = {"avg": lambda v: sum(v) / len(v), "max": max, "last": lambda v: v[-1]}
        return {k: pick[query.aggregation](v) for k, v in grouped.items() if v}


# Whole minutes in the recent past (ticks may run at any moment; whole minutes read easily).
def start_time() -> datetime:
    return (timezone.now() - timedelta(hours=6)).replace(second=0, microsecond=0, tzinfo=UTC)


class Clock:
    """Drives evaluation minute by minute over a MemorySource."""

    def __init__(self, source: MemorySource):
        self.source = source
        self.t0 = start_time()
        self.now = self.t0

    def minute(self, n: int) -> datetime:
        return self.t0 + timedelta(minutes=n)

    def feed(self, values, host: str = "web-1", start: int = 0) -> None:
        """One sample per minute, the first at minute `start`."""
        for i, value in enumerate(values):
            if value is not None:
                self.source.add(self.minute(start + i) + timedelta(seconds=30), value, host)

    def tick(self, n: int):
        """Evaluate at minute n (sees samples of earlier minutes), and send as the task does."""
        self.now = self.minute(n)
        tick = evaluate_rules(now=self.now)
        dispatch(tick.notifications)
        return tick

    def run(self, first: int, last: int) -> None:
        for n in range(first, last + 1):
            self.tick(n)


@pytest.fixture
def metric():
    sources.register(MemorySource)
    source = sources.get_source(MemorySource.key)
    yield source
    sources.unregister(source.key)


@pytest.fixture
def clock(metric):
    return Clock(metric)


@pytest.fixture
def http_receiver(settings):
    # Notifications go to public addresses only, unless a network is allowed.
    settings.ALERTS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp_receiver(settings):
    receiver = SmtpReceiver().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = receiver.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield receiver
    receiver.stop()


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.ALERTS_DELIVERY_BACKOFF_SECONDS = 0.01
    settings.ALERTS_HTTP_TIMEOUT_SECONDS = 5
    settings.SITE_URL = "http://testserver"


def make_rule(channels=(), **fields) -> Rule:
    values = {
        "name": "Latency",
        "source": "test.metric",
        "aggregation": "avg",
        "window_minutes": 1,
        "operator": "gt",
        "threshold": 100,
        "severity": "high",
        "enabled": True,
        **fields,
    }
    escalation = values.pop("escalation_channels", ())
    rule = Rule.objects.create(**values)
    rule.channels.set(channels)
    rule.escalation_channels.set(escalation)
    return rule


def webhook(receiver, name="Ops webhook", **fields) -> Channel:
    return Channel.objects.create(name=name, kind="webhook", target=receiver.url, **fields)


def email(name="Ops email", to="ops@example.com") -> Channel:
    return Channel.objects.create(name=name, kind="email", target=to)
