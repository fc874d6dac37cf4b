"""Response headers every API answer needs, and a 503 for a database outage."""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from chatbot.dbhealth import BREAKER
from chatbot.errors import ServiceUnavailable, error_body

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def database_unavailable() -> JsonResponse:
    """Return the 503 answer for a database that is down or out of connections."""
    error = ServiceUnavailable(
        "The database is unavailable; retry shortly.", code="database_unavailable"
    )
    response = JsonResponse(
        error_body(error.error_code, str(error.detail)), status=error.status_code
    )
    response["Retry-After"] = str(error.retry_after)
    add_never_cache_headers(response)
    return response


class DatabaseBreakerMiddleware:
    """Answer 503 at once while the database breaker is open (chatbot.dbhealth)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not BREAKER.allow():
            return database_unavailable()
        return self.get_response(request)


class ApiHeadersMiddleware:
    """Keep API answers out of shared caches and add the rate-limit headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            # Answers carry a user's conversations: no proxy or CDN may keep
            # them ("private, no-store"), and they vary by token.
            add_never_cache_headers(response)
            patch_vary_headers(response, ("Authorization",))
        limit = getattr(request, "rate_limit", None)
        if limit is not None:
            response["X-RateLimit-Limit"] = str(limit.limit)
            response["X-RateLimit-Remaining"] = str(limit.remaining)
            response["X-RateLimit-Reset"] = str(limit.reset_seconds)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        """Answer a lost database outside DRF views with a 503, not a 500."""
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "Database unavailable on %s: %s", request.path, type(exception).__name__
        )
        return database_unavailable()
