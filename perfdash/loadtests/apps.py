from django.apps import AppConfig


class LoadtestsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "perfdash.loadtests"
    label = "loadtests"
    verbose_name = "Load tests"

    def ready(self) -> None:
        from perfdash.loadtests import dashboard

        dashboard.register_section()
