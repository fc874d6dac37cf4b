"""Create (or reset) the demo account that `make run` prints."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-123"


class Command(BaseCommand):
    help = "Create the demo user (staff, so it can open the dashboard)."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
        )
        user.is_staff = True
        user.is_superuser = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        self.stdout.write(
            f"Demo user {'created' if created else 'ready'}: "
            f"username={DEMO_USERNAME} password={DEMO_PASSWORD} id={user.pk}\n"
            f"Admin and dashboard: http://127.0.0.1:{settings.PORT}/admin/"
        )
