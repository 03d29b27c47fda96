"""System checks of the alerts settings: a typo is reported at start-up, not at a send."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from config.client_address import parse_networks


@register(Tags.security)
def check_allowed_networks(app_configs, **kwargs):
    try:
        parse_networks(settings.ALERTS_ALLOWED_NETWORKS)
    except ValueError as exc:
        return [
            Error(
                f"ALERTS_ALLOWED_NETWORKS: {exc}.",
                hint="Use addresses or CIDRs separated by commas, e.g. 127.0.0.1/32",
                id="alerts.E001",
            )
        ]
    return []


@register()
def check_sink_throttle_rate(app_configs, **kwargs):
    from alerts.sink import SinkThrottle

    rate = settings.ALERTS_SINK_THROTTLE_RATE
    try:
        SinkThrottle()  # parses the rate
    except (ValueError, KeyError, IndexError):
        return [
            Error(
                f"ALERTS_SINK_THROTTLE_RATE is {rate!r}, not a rate.",
                hint="Use N/s, N/min or N/hour (e.g. 60/min), or leave it empty for no limit.",
                id="alerts.E002",
            )
        ]
    return []
