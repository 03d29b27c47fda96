from django.apps import AppConfig


class RumConfig(AppConfig):
    name = "rum"
    verbose_name = "Real user monitoring"
