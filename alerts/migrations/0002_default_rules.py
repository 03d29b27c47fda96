"""The default rules, by metric source key: disabled until someone gives them a channel."""

from django.db import migrations

DEFAULT_RULES = [
    {
        "name": "API p95 latency above 2 s",
        "source": "monitoring.request_latency",
        "aggregation": "p95",
        "operator": "gt",
        "threshold": 2000,
        "resolve_threshold": 1500,
        "window_minutes": 5,
        "for_minutes": 5,
        "severity": "high",
        "description": "The 95th percentile of server response time over all routes.",
    },
    {
        "name": "Database time p95 above 500 ms",
        "source": "monitoring.db_time",
        "aggregation": "p95",
        "operator": "gt",
        "threshold": 500,
        "resolve_threshold": 400,
        "window_minutes": 5,
        "for_minutes": 5,
        "severity": "medium",
        "description": "The 95th percentile of database time per request.",
    },
    {
        "name": "Error rate above 5 %",
        "source": "monitoring.error_rate",
        "aggregation": "ratio",
        "operator": "gt",
        "threshold": 5,
        "resolve_threshold": 3,
        "window_minutes": 5,
        "for_minutes": 2,
        "severity": "critical",
        "description": "Share of requests answered with a 5xx status.",
    },
    {
        "name": "LCP p75 above 4 s",
        "source": "rum.vital_p75",
        "aggregation": "p75",
        "filters": {"vital": "LCP"},
        "operator": "gt",
        "threshold": 4000,
        "resolve_threshold": 3500,
        "window_minutes": 60,
        "for_minutes": 0,
        "severity": "medium",
        "description": "Largest Contentful Paint of real users, 75th percentile (poor above 4 s).",
    },
    {
        "name": "CPU above 80 %",
        "source": "monitoring.cpu",
        "aggregation": "avg",
        "group_by": ["host"],
        "operator": "gt",
        "threshold": 80,
        "resolve_threshold": 70,
        "window_minutes": 5,
        "for_minutes": 5,
        "severity": "high",
        "description": "Average CPU use per host.",
    },
    {
        "name": "Memory above 85 %",
        "source": "monitoring.memory",
        "aggregation": "avg",
        "group_by": ["host"],
        "operator": "gt",
        "threshold": 85,
        "resolve_threshold": 80,
        "window_minutes": 5,
        "for_minutes": 5,
        "severity": "high",
        "description": "Average memory use per host.",
    },
    {
        "name": "Disk above 90 %",
        "source": "monitoring.disk",
        "aggregation": "last",
        "group_by": ["host", "mount"],
        "operator": "gt",
        "threshold": 90,
        "resolve_threshold": 88,
        "window_minutes": 15,
        "for_minutes": 0,
        "severity": "critical",
        "description": "Disk use per host and mount.",
    },
    {
        "name": "Data quality score below 85",
        "source": "dataquality.average_score",
        "aggregation": "avg",
        "operator": "lt",
        "threshold": 85,
        "resolve_threshold": 87,
        "window_minutes": 1440,
        "for_minutes": 0,
        "severity": "medium",
        "description": "Average of the latest quality score of each statement.",
    },
    {
        "name": "Critical data quality issues",
        "source": "dataquality.critical_issues",
        "aggregation": "count",
        "operator": "gt",
        "threshold": 0,
        "window_minutes": 1440,
        "for_minutes": 0,
        "severity": "high",
        "description": "Open critical findings of the data-quality checks.",
    },
]


def seed(apps, schema_editor):
    Rule = apps.get_model("alerts", "Rule")
    for spec in DEFAULT_RULES:
        defaults = {"filters": {}, "group_by": [], **spec, "enabled": False}
        Rule.objects.get_or_create(name=defaults.pop("name"), defaults=defaults)


def unseed(apps, schema_editor):
    Rule = apps.get_model("alerts", "Rule")
    Rule.objects.filter(name__in=[spec["name"] for spec in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
