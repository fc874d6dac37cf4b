from django.apps import AppConfig


class PerfdashConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "perfdash"
    verbose_name = "Performance"
