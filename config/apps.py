from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules


class MonitorAdminConfig(AdminConfig):
    """django.contrib.admin, with our AdminSite as admin.site for every app."""

    default_site = "config.admin_site.MonitorAdminSite"

    def ready(self):
        super().ready()
        # Each app registers its dashboard pages and overview card in dashboards.py.
        autodiscover_modules("dashboards")


class CoreConfig(AppConfig):
    name = "config"
    label = "core"
    verbose_name = "System"

    def ready(self):
        from config import checks  # noqa: F401  (registers system checks)
        from config.metrics import MigrationsCollector, register_collector
        from config.schedule import seed_after_migrate

        register_collector(MigrationsCollector())
        post_migrate.connect(seed_after_migrate, sender=self)
