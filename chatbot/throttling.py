"""Rate limits counted atomically in the cache: per user, per client IP, per login.

DRF's ``SimpleRateThrottle`` keeps a list of timestamps per client and writes
it back with a plain ``set``, so two processes can both read the old list and
both let a request through. These throttles count fixed windows with the
cache's ``incr`` instead, which django-redis runs as one atomic Redis script,
so every process behind the load balancer shares one exact counter.

Redis is an accelerator: when it cannot count, the request is let through
(and logged) rather than refused or failed. DRF's own ``get_ident`` picks the
client address, trusting ``X-Forwarded-For`` only through ``NUM_PROXIES``.
"""

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from chatbot.rates import parse_rate

if TYPE_CHECKING:
    # Not at run time: DRF imports this module while defining APIView.
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The state of one client's window, sent back as ``X-RateLimit-*`` headers."""

    limit: int
    remaining: int
    reset_seconds: int


def count_in_window(key: str, *, seconds: int) -> int | None:
    """Add one to the counter ``key`` expiring after ``seconds``; return it.

    Return None when the cache cannot count (Redis down or paused).
    """
    try:
        # django-redis ignores connection errors here and answers None.
        return cache.incr(key)
    except ValueError:
        pass  # no counter in this window yet
    # add() is SET NX: of two processes opening the window, one wins.
    if cache.add(key, 1, timeout=seconds + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        return None


def _record(request: "Request", limit: RateLimit) -> None:
    # The middleware reads this from the Django request to set the headers;
    # with several throttles on a view, the tightest one is reported.
    django_request = request._request
    current: RateLimit | None = getattr(django_request, "rate_limit", None)
    if current is None or limit.remaining < current.remaining:
        django_request.rate_limit = limit  # type: ignore[attr-defined]


class CounterThrottle(BaseThrottle):
    """Fixed-window throttle; subclasses say whose requests share a counter."""

    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def client_key(self, request: "Request", view: "APIView") -> str | None:
        """Return the identity to count under, or None to not throttle."""
        raise NotImplementedError

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        rate = parse_rate(settings.THROTTLE_RATES.get(self.scope))
        if rate is None:
            return True
        ident = self.client_key(request, view)
        if ident is None:
            return True
        limit, seconds = rate

        now = time.time()
        window = int(now // seconds)
        count = count_in_window(
            f"throttle:{self.scope}:{ident}:{window}", seconds=seconds
        )
        if count is None:
            logger.warning("Throttle %s cannot count; request allowed", self.scope)
            return True

        reset = (window + 1) * seconds - now
        self._wait = reset
        _record(
            request,
            RateLimit(limit, max(0, limit - count), max(1, math.ceil(reset))),
        )
        return count <= limit

    def wait(self) -> float | None:
        return self._wait


class UserRateThrottle(CounterThrottle):
    """Count every API request of a signed-in user; anonymous ones by IP."""

    scope = "user"

    def client_key(self, request: "Request", view: "APIView") -> str | None:
        user_id = getattr(request.user, "id", None)
        if user_id is not None:
            return f"u{user_id}"
        return f"ip{self.get_ident(request)}"


class ChatRateThrottle(CounterThrottle):
    """Count chat turns per user (the expensive, model-calling requests)."""

    scope = "chat"

    def client_key(self, request: "Request", view: "APIView") -> str | None:
        user_id = getattr(request.user, "id", None)
        return None if user_id is None else str(user_id)


class TokenIpThrottle(CounterThrottle):
    """Count token requests per client address (password guessing, many names)."""

    scope = "token_ip"

    def client_key(self, request: "Request", view: "APIView") -> str | None:
        return self.get_ident(request)


class TokenUsernameThrottle(CounterThrottle):
    """Count token requests per username (password guessing from many IPs)."""

    scope = "token_user"

    def client_key(self, request: "Request", view: "APIView") -> str | None:
        data: Any = request.data
        username = data.get("username") if isinstance(data, dict) else None
        if not isinstance(username, str) or not username:
            return None
        # Hashed: bounded key length, and no login name lands in Redis.
        return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


TOKEN_THROTTLES = [TokenIpThrottle, TokenUsernameThrottle]
