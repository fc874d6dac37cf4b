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


# The code and message for an error Django answered itself, before or around
# any DRF view (unknown URL, a plain view's 405, a crash in a middleware).
_STATUS_ERRORS = {
    400: ("bad_request", "The request could not be processed."),
    403: ("forbidden", "You do not have permission for this action."),
    404: ("not_found", "No such endpoint."),
    405: ("method_not_allowed", "This method is not allowed on this endpoint."),
    413: ("payload_too_large", "The request body is too large."),
    500: ("internal_error", "An unexpected error occurred."),
}
# Headers of the original answer a client still needs.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiJsonErrorsMiddleware:
    """Answer every API error in the one JSON shape, whatever DEBUG says.

    With DEBUG on, Django answers an unknown URL or an unhandled exception
    with its HTML debug page instead of the handler404/handler500 views, and
    plain Django views answer 405 with an empty HTML body. API clients parse
    JSON, so under /api/ any error that is not JSON already is rewritten. It
    sits outside CommonMiddleware so it also sees that middleware's answers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not request.path.startswith(API_PREFIX):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        fallback = _STATUS_ERRORS[500 if response.status_code >= 500 else 400]
        code, message = _STATUS_ERRORS.get(response.status_code, fallback)
        rewritten = JsonResponse(
            error_body(code, message), status=response.status_code
        )
        for header in _KEPT_HEADERS:
            if header in response:
                rewritten[header] = response[header]
        return rewritten
