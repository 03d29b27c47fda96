from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Performance monitoring"

    def ready(self):
        from django.conf import settings
        from django.db.backends.signals import connection_created

        from config.metrics import register_collector
        from monitoring import celery_signals, checks  # noqa: F401  (task metrics, checks)
        from monitoring.prometheus import RequestMetricsCollector
        from monitoring.recorder import install_db_wrapper

        if settings.MONITORING_ENABLED:
            # On every new connection, whatever the alias: queries are timed from then on.
            connection_created.connect(install_db_wrapper, dispatch_uid="perfmon-db-wrapper")
        register_collector(RequestMetricsCollector())
