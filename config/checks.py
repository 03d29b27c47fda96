"""System checks: catch bad configuration at start-up, not at the first request."""

import ipaddress

import redis
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from config.client_address import parse_networks


@register(Tags.security)
def check_metrics_access(app_configs, **kwargs):
    problems = []
    for entry in settings.METRICS_ALLOWED_IPS:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(
                Error(
                    f"METRICS_ALLOWED_IPS has {entry!r}, which is not an address or network.",
                    hint="Use addresses or CIDRs separated by commas, e.g. 10.0.0.0/8,127.0.0.1",
                    id="perfmon.E001",
                )
            )
    return problems


@register(Tags.security)
def check_trusted_proxies(app_configs, **kwargs):
    try:
        parse_networks(settings.TRUSTED_PROXIES)
    except ValueError as exc:
        return [
            Error(
                f"TRUSTED_PROXIES: {exc}.",
                hint="Use addresses or CIDRs separated by commas, e.g. 10.0.0.0/8,127.0.0.1",
                id="perfmon.E003",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_metrics_configured(app_configs, **kwargs):
    if settings.METRICS_TOKEN or settings.METRICS_ALLOWED_IPS:
        return []
    return [
        Warning(
            "/metrics refuses every scraper: neither METRICS_TOKEN nor METRICS_ALLOWED_IPS is set.",
            hint="Set METRICS_TOKEN and configure Prometheus with it as a bearer token.",
            id="perfmon.W001",
        )
    ]


@register(deploy=True)
def check_redis_configured(app_configs, **kwargs):
    if settings.REDIS_URL:
        return []
    return [
        Warning(
            "REDIS_URL is not set: the embedded broker and a per-process cache are in use.",
            hint="Fine for a single-machine trial; set REDIS_URL for production.",
            id="perfmon.W002",
        )
    ]


@register(deploy=True)
def check_redis_persistence(app_configs, **kwargs):
    """Accepted beacons and unfolded request minutes live in Redis until a worker takes them."""
    from config.redis_client import DURABILITY_HINT, persistence

    if not settings.REDIS_URL:
        return []
    try:
        durable, detail = persistence()
    except redis.RedisError:  # not reachable from here (yet): /healthz says it once it runs
        return []
    if durable:
        return []
    return [Warning(detail, hint=DURABILITY_HINT, id="perfmon.W003")]
