from django.apps import AppConfig


class DataQualityConfig(AppConfig):
    name = "dataquality"
    verbose_name = "Data quality"
