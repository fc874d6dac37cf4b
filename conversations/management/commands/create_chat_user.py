"""Create a chat account from the command line (staff's alternative to admin)."""

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

PASSWORD_ENV = "CHAT_USER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create a chat user. The password is read from $CHAT_USER_PASSWORD or "
        "prompted for; it is never taken on the command line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"]
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} already exists.")
        password = os.environ.get(PASSWORD_ENV) or getpass.getpass("Password: ")
        candidate = user_model(username=username, email=options["email"])
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        user = user_model.objects.create_user(  # type: ignore[attr-defined]
            username=username, email=options["email"], password=password
        )
        self.stdout.write(f"Created user {username} with id {user.pk}.")
