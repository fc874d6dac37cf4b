"""Fixtures for alert tests: a real SMTP server on loopback and rule helpers.

The SMTP server is aiosmtpd, started once per session on a free port; the
``inbox`` fixture points Django's SMTP backend at it and empties it.
"""

import email
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import freezegun
import pytest
from aiosmtpd.controller import Controller

from perfdash.alerts.models import Rule

# The SMTP server's event loop runs in its own thread and must keep real
# time while a test freezes the clock.
freezegun.configure(extend_ignore_list=["asyncio", "aiosmtpd"])


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """Messages received by the SMTP server, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    @property
    def subjects(self) -> list[str]:
        with self.lock:
            return [str(m["Subject"]) for m in self.messages]


def plain_text(message: EmailMessage) -> str:
    """Return the text/plain body of a received message."""
    body = message.get_body(("plain",))
    assert body is not None, "message has no text/plain part"
    return str(body.get_content())


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int], settings: Any) -> Inbox:
    box, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    box.clear()
    return box


@pytest.fixture
def staff(make_user: Any) -> Any:
    return make_user("ops", email="ops@example.com", is_staff=True)


def make_rule(**fields: Any) -> Rule:
    """Create an enabled rule with one-minute windows unless told otherwise."""
    values: dict[str, Any] = {
        "name": "test error rate",
        "metric": "error_rate",
        "comparison": "gt",
        "threshold": 0.05,
        "recovery_threshold": 0.02,
        "window": timedelta(minutes=1),
        "pending_for": timedelta(minutes=0),
        "min_samples": 10,
        "severity": "critical",
        "guidance": "Immediate investigation required",
    }
    values.update(fields)
    return Rule.objects.create(**values)
