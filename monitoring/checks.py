"""System checks: monitoring settings that cannot work are reported at start-up."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_monitoring_settings(app_configs, **kwargs):
    problems = []
    if settings.MONITORING_FLUSH_SECONDS <= 0:
        problems.append(
            Error(
                "MONITORING_FLUSH_SECONDS must be more than 0.",
                hint="Each process hands its request metrics over this often; 5 is a good value.",
                id="monitoring.E001",
            )
        )
    if settings.MONITORING_N_PLUS_ONE_THRESHOLD < 2:
        problems.append(
            Error(
                "MONITORING_N_PLUS_ONE_THRESHOLD must be at least 2.",
                hint="A statement run this many times in one request is flagged as an N+1.",
                id="monitoring.E002",
            )
        )
    if settings.MONITORING_SLOW_REQUEST_MS < 0:
        problems.append(
            Error("MONITORING_SLOW_REQUEST_MS cannot be negative.", id="monitoring.E003")
        )
    if settings.MONITORING_SYSTEM_SAMPLE_SECONDS < 1:
        problems.append(
            Error("MONITORING_SYSTEM_SAMPLE_SECONDS must be at least 1.", id="monitoring.E004")
        )
    return problems
