"""Send a minute of chat traffic to the running server, so the dashboard has data.

``make run`` starts this next to the web server (see the Procfile): a newcomer
who opens the dashboard a minute later sees it populated. It only ever talks
to a server on this machine, and stops by itself: after ``--requests``
requests or ``--seconds`` seconds, whichever comes first.
"""

import secrets
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Plain (non-staff) accounts the demo chats as; reset on every run.
TRAFFIC_USER_PREFIX = "demo-traffic-"
# A short, fixed script: each account chats in a conversation, reads its
# list and history, and now and then sends a message the API refuses (a
# 400), so the client-error figures have something to show.
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
            "--users", type=int, default=5, help="accounts the traffic is spread over"
        )
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
                users=max(1, options["users"]),
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


@dataclass
class _Chatter:
    """One demo account: its id, its token and the conversation it continues."""

    user_id: int
    headers: dict[str, str]
    conversation_id: Any = None
    turns: int = 0


def _demo_accounts(count: int) -> list[tuple[int, str, str]]:
    """Create or reset the demo traffic accounts; return (id, name, password)."""
    accounts = []
    for index in range(1, count + 1):
        name = f"{TRAFFIC_USER_PREFIX}{index}"
        password = secrets.token_urlsafe(18)
        user, _ = get_user_model().objects.get_or_create(username=name)
        user.set_password(password)
        user.save(update_fields=["password"])
        accounts.append((user.pk, name, password))
    return accounts


def _send_traffic(
    client: httpx.Client, *, seconds: float, limit: int, rate: float, users: int
) -> tuple[int, dict[int, int]]:
    """Run the demo script; return the number sent and the count per status."""
    statuses: dict[int, int] = {}

    def send(method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = client.request(method, url, **kwargs)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        return response

    # Several accounts, so the demo stays under the per-user chat throttle.
    chatters = []
    for user_id, name, password in _demo_accounts(users):
        token = send(
            "POST", "/api/token/", json={"username": name, "password": password}
        )
        if token.status_code != 200:
            raise CommandError(f"demo account {name} cannot log in")
        headers = {"Authorization": f"Bearer {token.json()['access']}"}
        chatters.append(_Chatter(user_id=user_id, headers=headers))

    started = time.monotonic()
    sent = len(chatters)
    while sent < limit and time.monotonic() - started < seconds:
        chatter = chatters[sent % len(chatters)]
        _one_request(send, chatter)
        sent += 1
        # Pace to the rate from the start, so slow answers do not pile up.
        delay = started + (sent - len(chatters)) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return sent, statuses


def _one_request(send: Any, chatter: _Chatter) -> None:
    """Send a chatter's next request of the script."""
    turn, chatter.turns = chatter.turns, chatter.turns + 1
    base = f"/api/{chatter.user_id}"
    step = turn % 12
    if step == 11:
        send("POST", f"{base}/chat", json={"message": ""}, headers=chatter.headers)
    elif step in (5, 10):
        send("GET", f"{base}/conversations", headers=chatter.headers)
    elif step == 7 and chatter.conversation_id is not None:
        send(
            "GET",
            f"{base}/conversations/{chatter.conversation_id}/messages",
            headers=chatter.headers,
        )
    else:
        body: dict[str, Any] = {"message": _MESSAGES[turn % len(_MESSAGES)]}
        if chatter.conversation_id is not None and turn % 30:
            body["conversation_id"] = chatter.conversation_id
        reply = send("POST", f"{base}/chat", json=body, headers=chatter.headers)
        if reply.status_code == 200:
            chatter.conversation_id = reply.json().get(
                "conversation_id", chatter.conversation_id
            )


def _wait_for_stop() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
