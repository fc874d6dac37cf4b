"""The Redis cache backend: django-redis, with its ignored errors as warnings.

django-redis (``IGNORE_EXCEPTIONS``) already turns a dead Redis into cache
misses; it logs each swallowed error with ``logger.exception`` (ERROR). A
dead cache is degraded service, not a failed request, so this subclass logs
it at WARNING on the ``chatbot.cache`` logger instead.
"""

import logging
import sys
from typing import Any

from django_redis.cache import RedisCache


class _WarningLogger:
    """Stand-in for the logger django-redis calls ``exception`` on."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        cause = exc.__cause__ if exc is not None else None
        self.logger.warning(
            "Redis unavailable, falling back to the database: %s",
            type(cause or exc).__name__,
        )


class FallbackRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        warning_logger = _WarningLogger(logging.getLogger("chatbot.cache"))
        self.logger = warning_logger  # type: ignore[assignment]
