from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from django.contrib import admin

        from audit import actors, admin_actions, trail

        trail.connect()
        actors.connect()
        # Every ModelAdmin is registered by now (the admin autodiscovers first).
        admin_actions.install(admin.site)
