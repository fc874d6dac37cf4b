"""The Redis cache backend: django-redis, with its ignored errors as warnings.

django-redis (``IGNORE_EXCEPTIONS``) already turns a dead Redis into cache
misses; it logs each swallowed error with ``logger.exception`` (ERROR). A
dead cache is degraded service, not a failed request, so this subclass logs
it at WARNING on the ``chatbot.cache`` logger instead.

Each call to a paused or unreachable Redis still waits for its socket
timeout, and a turn makes several calls. So after a timeout the client
(``BreakerClient``) skips Redis altogether for ``SKIP_SECONDS``: calls answer
as misses at once, and one call per interval tries Redis again. (A stopped
Redis refuses connections at once; that costs nothing and skips nothing.)
"""

import logging
import sys
import time
from typing import Any

from django_redis.cache import RedisCache
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import TimeoutError as RedisTimeoutError

SKIP_SECONDS = 1.0


class _Breaker:
    """Per-process: until when Redis is skipped after a failure."""

    def __init__(self) -> None:
        self.skip_until = 0.0

    def trip(self) -> None:
        self.skip_until = time.monotonic() + SKIP_SECONDS

    def is_open(self) -> bool:
        return time.monotonic() < self.skip_until


BREAKER = _Breaker()


class BreakerClient(DefaultClient):
    """django-redis' client, refusing at once while Redis is being skipped."""

    def _refuse_if_skipping(self) -> None:
        if BREAKER.is_open():
            # No cause: the backend ignores it like any connection error, and
            # the warning logger below stays quiet for it.
            raise ConnectionInterrupted(connection=None)

    def get_client(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse_if_skipping()
        return super().get_client(*args, **kwargs)

    def get_client_with_index(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse_if_skipping()
        return super().get_client_with_index(*args, **kwargs)


class _WarningLogger:
    """Stand-in for the logger django-redis calls ``exception`` on."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        cause = exc.__cause__ if exc is not None else None
        if isinstance(exc, ConnectionInterrupted) and cause is None:
            return  # skipped by the breaker, not a new failure
        if isinstance(cause, RedisTimeoutError | TimeoutError):
            # A refused connection fails in microseconds and needs no skipping;
            # a paused or unreachable server costs a whole socket timeout.
            BREAKER.trip()
        self.logger.warning(
            "Redis unavailable, falling back to the database: %s",
            type(cause or exc).__name__,
        )


class FallbackRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        warning_logger = _WarningLogger(logging.getLogger("chatbot.cache"))
        self.logger = warning_logger  # type: ignore[assignment]
        # The logger hook is where a failure trips the breaker: always call it.
        self._log_ignored_exceptions = True
