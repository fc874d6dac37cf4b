from django.apps import AppConfig


class AlertsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "perfdash.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from perfdash.alerts import dashboard

        dashboard.register_section()
