from django.apps import AppConfig


class RumConfig(AppConfig):
    name = "rum"
    verbose_name = "Real user monitoring"

    def ready(self):
        from config.metrics import register_collector
        from rum import (
            sites,  # noqa: F401  (cache invalidation on site changes)
            tasks,  # noqa: F401  (web processes ask for drains by the task's name)
        )
        from rum.prometheus import QueueCollector

        register_collector(QueueCollector())
