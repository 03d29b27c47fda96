from django.apps import AppConfig


def start_background_flush(**kwargs):
    """A process serving requests hands its sums over from a thread (tests flush explicitly)."""
    from monitoring.recorder import recorder

    recorder.enable_background_flush()


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Performance monitoring"

    def ready(self):
        from django.conf import settings
        from django.db.backends.signals import connection_created

        from config.metrics import register_collector
        from config.processes import web_process_started
        from monitoring import celery_signals, checks  # noqa: F401  (task metrics, checks)
        from monitoring.prometheus import RequestMetricsCollector
        from monitoring.recorder import install_db_wrapper

        if settings.MONITORING_ENABLED:
            # On every new connection, whatever the alias: queries are timed from then on.
            connection_created.connect(install_db_wrapper, dispatch_uid="perfmon-db-wrapper")
        register_collector(RequestMetricsCollector())
        web_process_started.connect(start_background_flush, dispatch_uid="perfmon-flush")
