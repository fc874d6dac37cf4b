from django.apps import AppConfig, apps
from django.db.backends.signals import connection_created


class PerfdashConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "perfdash"
    verbose_name = "Performance"

    def ready(self) -> None:
        from perfdash import db

        # Every connection wrapper gets the statement counter when it first
        # connects; it stays for the life of the process.
        connection_created.connect(db.install, dispatch_uid="perfdash.db.install")
        if apps.is_installed("silk"):
            from perfdash import silk

            silk.install()
