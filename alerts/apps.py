from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        # Each app registers the metrics rules can watch in its alert_sources.py.
        autodiscover_modules("alert_sources")
        from alerts import checks  # noqa: F401 (registers them)
        from alerts.prometheus import AlertsCollector
        from config.metrics import register_collector

        register_collector(AlertsCollector())
