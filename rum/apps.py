from django.apps import AppConfig


class RumConfig(AppConfig):
    name = "rum"
    verbose_name = "Real user monitoring"

    def ready(self):
        from rum import sites  # noqa: F401  (cache invalidation on site changes)
