"""Send a minute of chat traffic to the running server, so the dashboard has data.

``make run`` starts this next to the web server (see the Procfile): a newcomer
who opens the dashboard a minute later sees it populated. It only ever talks
to a server on this machine, and stops by itself: after ``--requests``
requests or ``--seconds`` seconds, whichever comes first.
"""

import logging
import signal
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations.management.commands.create_demo_user import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
)

logger = logging.getLogger(__name__)

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# A short, fixed script: the same user chats in a few conversations, reads
# them back, and now and then sends a message the API refuses (a 400), so
# the error-rate tile and chart have something to show.
_MESSAGES = (
    "Hello! What can you do?",
    "Summarise our conversation so far.",
    "Give me three ideas for a weekend trip.",
    "Which of those is cheapest?",
    "Thanks, that helps.",
)


class Command(BaseCommand):
    help = "Send demo chat traffic to a local server for a minute."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--requests", type=int, default=600)
        parser.add_argument("--rate", type=float, default=5.0, help="per second")
        parser.add_argument(
            "--startup-seconds",
            type=float,
            default=60.0,
            help="how long to wait for the server to answer",
        )
        parser.add_argument(
            "--then-wait",
            action="store_true",
            help="stay up until stopped (honcho stops everything when one exits)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["url"].rstrip("/")
        if urlsplit(base).hostname not in _LOOPBACK:
            raise CommandError("demo traffic only goes to a server on this machine")

        with httpx.Client(base_url=base, timeout=10.0) as client:
            if not _wait_for_server(client, options["startup_seconds"]):
                raise CommandError(f"no server answered at {base}")
            sent, statuses = _send_traffic(
                client,
                seconds=options["seconds"],
                limit=options["requests"],
                rate=options["rate"],
            )
        summary = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
        self.stdout.write(f"demo traffic: {sent} requests sent ({summary})")
        self.stdout.write(f"dashboard: {base}/admin/performance/")

        if options["then_wait"]:
            _wait_for_stop()


def _wait_for_server(client: httpx.Client, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            client.get("/api/ping")
            return True
        except httpx.TransportError:
            time.sleep(0.5)
    return False


def _send_traffic(
    client: httpx.Client, *, seconds: float, limit: int, rate: float
) -> tuple[int, dict[int, int]]:
    """Run the demo script; return the number sent and the count per status."""
    statuses: dict[int, int] = {}

    def send(method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = client.request(method, url, **kwargs)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        return response

    token = send(
        "POST",
        "/api/token/",
        json={"username": DEMO_USERNAME, "password": DEMO_PASSWORD},
    )
    if token.status_code != 200:
        raise CommandError(
            "the demo user cannot log in; run `manage.py create_demo_user` first"
        )
    client.headers["Authorization"] = f"Bearer {token.json()['access']}"
    user_id = (
        get_user_model()
        .objects.values_list("pk", flat=True)
        .get(username=DEMO_USERNAME)
    )

    started = time.monotonic()
    sent = 1
    conversation_id: Any = None
    for turn in range(limit - 1):
        if time.monotonic() - started >= seconds:
            break
        step = turn % 12
        if step == 11:
            send("POST", f"/api/{user_id}/chat", json={"message": ""})
        elif step in (5, 10):
            send("GET", f"/api/{user_id}/conversations")
        elif step == 7 and conversation_id is not None:
            send("GET", f"/api/{user_id}/conversations/{conversation_id}/messages")
        else:
            body: dict[str, Any] = {"message": _MESSAGES[turn % len(_MESSAGES)]}
            if conversation_id is not None and turn % 30:
                body["conversation_id"] = conversation_id
            reply = send("POST", f"/api/{user_id}/chat", json=body)
            if reply.status_code in (200, 201):
                conversation_id = reply.json().get("conversation_id", conversation_id)
        sent += 1
        # Pace to the rate from the start, so slow answers do not pile up.
        delay = started + sent / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return sent, statuses


def _wait_for_stop() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
