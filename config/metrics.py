"""/metrics: the Prometheus export, behind a bearer token or an address allow-list.

With several gunicorn workers each has its own in-memory registry; gunicorn's
config sets PROMETHEUS_MULTIPROC_DIR so prometheus_client writes to shared
files and one scrape sees the sum over all workers. Apps add collectors that
read shared state (Redis, the database) with `register_collector`.

Each bearer token presented is announced with `metrics_token_checked` (an app may
record who used it); the allow-list reads the client address by the one rule.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.dispatch import Signal
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from config.client_address import client_address

_collectors: list = []

# Sent with request= and accepted= (bool) whenever a bearer token is presented.
metrics_token_checked = Signal()


def register_collector(collector) -> None:
    """Add a collector (an object with collect()) to every scrape, once."""
    if collector not in _collectors:
        _collectors.append(collector)


def access_denied(request) -> HttpResponse | None:
    """None when the scraper may read /metrics, else the 401/403 response to send."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header:
        scheme, _, presented = header.partition(" ")
        accepted = scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), token)
        metrics_token_checked.send_robust(sender=None, request=request, accepted=accepted)
        return None if accepted else _text(403, "Forbidden: wrong token.\n")
    if _address_allowed(client_address(request)):
        return None
    if token:
        response = _text(401, "Unauthorized: send Authorization: Bearer <METRICS_TOKEN>.\n")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return _text(403, "Forbidden: this address is not in METRICS_ALLOWED_IPS.\n")


def _address_allowed(remote_addr: str) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    for entry in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:  # reported by the perfmon.E001 system check
            continue
    return False


def _text(status: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    if _collectors:
        extra = CollectorRegistry(auto_describe=False)
        for collector in _collectors:
            extra.register(collector)
        output += generate_latest(extra)
    return output


class MigrationsCollector:
    """Applied and unapplied migrations per database, read at scrape time."""

    def collect(self):
        from django.db import connections
        from django.db.migrations.executor import MigrationExecutor
        from prometheus_client.core import GaugeMetricFamily

        applied = GaugeMetricFamily(
            "django_migrations_applied",
            "Migrations applied to the database.",
            labels=["connection"],
        )
        unapplied = GaugeMetricFamily(
            "django_migrations_unapplied",
            "Migrations not yet applied to the database.",
            labels=["connection"],
        )
        for alias in connections:
            executor = MigrationExecutor(connections[alias])
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            applied.add_metric([alias], len(executor.loader.applied_migrations))
            unapplied.add_metric([alias], len(plan))
        yield applied
        yield unapplied


def metrics_view(request):
    denied = access_denied(request)
    if denied is not None:
        return denied
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
