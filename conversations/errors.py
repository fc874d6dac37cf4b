"""Typed errors of the chat API, rendered by ``chatbot.errors``."""

from rest_framework import status

from chatbot.errors import ApiError


class ConversationNotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "No such conversation."


class ConversationBusy(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conversation_busy"
    default_detail = "Another turn is in progress on this conversation; retry."
    retry_after = 1


class IdempotencyKeyInFlight(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_flight"
    default_detail = "A request with this Idempotency-Key is still in progress."
    retry_after = 1


class IdempotencyKeyReused(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with another body."


class InvalidBody(ApiError):
    default_code = "invalid_body"
    default_detail = "The body must be a JSON object."


class MessageTooLong(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "message_too_long"
    default_detail = "The message is too long."


class RegistrationClosed(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "registration_closed"
    default_detail = "Registration is closed; ask staff for an account."


class UpstreamTimeout(ApiError):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_code = "upstream_timeout"
    default_detail = "The model server did not answer in time."


class UpstreamUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "upstream_unavailable"
    default_detail = "The model server is unavailable or overloaded; retry shortly."
    retry_after = 5


class UpstreamError(ApiError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "upstream_error"
    default_detail = "The model server sent an invalid answer."
