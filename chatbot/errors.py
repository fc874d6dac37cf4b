"""The one error contract of the API: every error leaves as the same JSON shape.

``{"error": {"code": "...", "message": "...", "fields"?: {...}}}``. Services
raise :class:`ApiError` subclasses; DRF's own exceptions are mapped here too,
and Django's 404/500 handlers answer in the same shape.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """Base for typed errors raised by services and rendered by the handler."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request could not be processed."
    retry_after: int | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail=message or self.default_detail, code=code)
        self.error_code = code or self.default_code
        if retry_after is not None:
            self.retry_after = retry_after


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


def payload_too_large_message() -> str:
    """Return the 413 message, naming the limit Django enforces."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return str(PayloadTooLarge.default_detail)
    return f"The request body is larger than {limit} bytes."


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "The service is temporarily unavailable; retry shortly."
    retry_after = 2


# DRF exception classes whose default codes are kept, with a friendlier code
# where DRF's is vague.
_CODE_OVERRIDES = {
    "not_authenticated": "not_authenticated",
    "authentication_failed": "authentication_failed",
    "permission_denied": "forbidden",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "unsupported_media_type": "unsupported_media_type",
    "parse_error": "malformed_json",
    "throttled": "throttled",
    "invalid": "invalid",
    "token_not_valid": "token_not_valid",
}


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    """Return the JSON body for one error."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _message_of(detail: Any) -> str:
    if isinstance(detail, list | tuple) and detail:
        return _message_of(detail[0])
    if isinstance(detail, dict):
        if "detail" in detail:
            return _message_of(detail["detail"])
        return "The request has invalid fields; see error.fields."
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render any exception a DRF view raises in the one error shape."""
    if isinstance(exc, OperationalError | InterfaceError):
        # The database went away or the pool had no connection in time:
        # the client should retry, the operator sees a warning, not a 500.
        logger.warning(
            "Database unavailable in %s: %s",
            context.get("view").__class__.__name__,
            type(exc).__name__,
        )
        if isinstance(exc.__cause__, PoolTimeout):
            exc = ServiceUnavailable(
                "Every database connection is busy; retry shortly.",
                code="database_busy",
            )
        else:
            exc = ServiceUnavailable(
                "The database is unavailable; retry shortly.",
                code="database_unavailable",
            )
    elif isinstance(exc, RequestDataTooBig):
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE.
        exc = PayloadTooLarge(payload_too_large_message())
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        # Unexpected errors: log with traceback, answer without one.
        logger.error(
            "Unhandled error in %s",
            context.get("view").__class__.__name__,
            exc_info=exc,
        )
        return Response(
            error_body("internal_error", "An unexpected error occurred."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, ApiError):
        code = exc.error_code
    else:
        codes = exc.get_codes()
        raw = codes if isinstance(codes, str) else None
        if raw is None and isinstance(codes, dict) and "detail" in codes:
            raw = codes["detail"] if isinstance(codes["detail"], str) else None
        code = _CODE_OVERRIDES.get(raw or "", raw or "invalid")
        if isinstance(exc, exceptions.ValidationError):
            code = "invalid"

    fields = None
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        fields = exc.detail
    response.data = error_body(code, _message_of(exc.detail), fields)

    retry_after = getattr(exc, "retry_after", None)
    if retry_after is None and isinstance(exc, exceptions.Throttled):
        retry_after = getattr(exc, "wait", None)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return response


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Answer an unknown URL in the one error shape."""
    return JsonResponse(
        error_body("not_found", "No such endpoint."), status=status.HTTP_404_NOT_FOUND
    )


def json_500(request: HttpRequest) -> JsonResponse:
    """Answer an unexpected server error in the one error shape."""
    return JsonResponse(
        error_body("internal_error", "An unexpected error occurred."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Answer a request Django refused before any view in the one error shape."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(
            error_body(PayloadTooLarge.default_code, payload_too_large_message()),
            status=PayloadTooLarge.status_code,
        )
    return JsonResponse(
        error_body("bad_request", "The request could not be processed."),
        status=status.HTTP_400_BAD_REQUEST,
    )


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Answer a forbidden request in the one error shape."""
    return JsonResponse(
        error_body("forbidden", "You do not have permission for this action."),
        status=status.HTTP_403_FORBIDDEN,
    )
