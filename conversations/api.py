"""The HTTP layer of the chat API: parse, call a service or selector, respond."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbot.throttling import ChatRateThrottle, UserRateThrottle

from . import pagination, selectors, services
from .errors import ConversationNotFound, InvalidBody, RegistrationClosed
from .serializers import (
    MAX_ID,
    ChatRequestSerializer,
    ChatResponseSerializer,
    ConversationPageSerializer,
    ConversationRenameSerializer,
    ConversationSerializer,
    MessagePageSerializer,
    RegisteredUserSerializer,
    RegisterSerializer,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255

ERRORS = {
    400: OpenApiResponse(description="Invalid input (error shape)"),
    401: OpenApiResponse(description="Missing or invalid token"),
    403: OpenApiResponse(description="The path's user is not the token's user"),
    404: OpenApiResponse(description="No such conversation for this user"),
}
PAGE_PARAMETERS = [
    OpenApiParameter(pagination.CURSOR_PARAM, OpenApiTypes.STR),
    OpenApiParameter(pagination.SIZE_PARAM, OpenApiTypes.INT),
]


class IsPathUser(permissions.BasePermission):
    """Allow a request only when the path's ``user_id`` is the token's user."""

    message = "This token belongs to another user."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        return str(view.kwargs.get("user_id")) == str(user.id)


def _owner_id(request: Request) -> int:
    # IsPathUser has run: the token's user_id is the path's integer.
    return int(str(getattr(request.user, "id", "")))


def _conversation_id(raw: int) -> int:
    if raw > MAX_ID:
        raise ConversationNotFound()
    return raw


def _json_object(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise InvalidBody()
    return data


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not all(
        "!" <= ch <= "~" for ch in key
    ):
        raise InvalidBody(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


class UserScopedView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsPathUser]


class ChatView(UserScopedView):
    throttle_classes = [UserRateThrottle, ChatRateThrottle]

    @extend_schema(
        operation_id="chat_turn",
        summary="Send a message; start or continue a conversation",
        request=ChatRequestSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Makes a retried POST return the first result.",
            )
        ],
        responses={
            200: ChatResponseSerializer,
            **ERRORS,
            409: OpenApiResponse(description="conversation_busy (Retry-After)"),
            413: OpenApiResponse(description="message_too_long"),
            415: OpenApiResponse(description="Not application/json"),
            422: OpenApiResponse(description="idempotency_key_reused"),
            502: OpenApiResponse(description="upstream_error"),
            503: OpenApiResponse(description="upstream_unavailable (Retry-After)"),
            504: OpenApiResponse(description="upstream_timeout"),
        },
    )
    def post(self, request: Request, user_id: int) -> Response:
        serializer = ChatRequestSerializer(data=_json_object(request))
        serializer.is_valid(raise_exception=True)
        body = services.chat_turn(
            owner_id=_owner_id(request),
            message=serializer.validated_data["message"],
            conversation_id=serializer.validated_data.get("conversation_id"),
            idempotency_key=_idempotency_key(request),
        )
        return Response(body)


class ConversationListView(UserScopedView):
    @extend_schema(
        operation_id="conversation_list",
        summary="List the user's conversations, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: ConversationPageSerializer, **ERRORS},
    )
    def get(self, request: Request, user_id: int) -> Response:
        size = pagination.page_size(request)
        rows = selectors.conversation_list(
            owner_id=_owner_id(request),
            after=pagination.updated_position(request),
            limit=size + 1,
        )
        body = pagination.page(request, rows, size, key="updated_at")
        body["results"] = ConversationSerializer(body["results"], many=True).data
        return Response(body)


class ConversationDetailView(UserScopedView):
    @extend_schema(
        operation_id="conversation_get",
        responses={200: ConversationSerializer, **ERRORS},
    )
    def get(self, request: Request, user_id: int, conversation_id: int) -> Response:
        row = selectors.conversation_get(
            owner_id=_owner_id(request),
            conversation_id=_conversation_id(conversation_id),
        )
        return Response(ConversationSerializer(row).data)

    @extend_schema(
        operation_id="conversation_rename",
        request=ConversationRenameSerializer,
        responses={200: ConversationSerializer, **ERRORS},
    )
    def patch(self, request: Request, user_id: int, conversation_id: int) -> Response:
        serializer = ConversationRenameSerializer(data=_json_object(request))
        serializer.is_valid(raise_exception=True)
        row = services.conversation_rename(
            owner_id=_owner_id(request),
            conversation_id=_conversation_id(conversation_id),
            title=serializer.validated_data["title"],
        )
        return Response(ConversationSerializer(row).data)

    @extend_schema(
        operation_id="conversation_delete",
        responses={204: None, **ERRORS},
    )
    def delete(self, request: Request, user_id: int, conversation_id: int) -> Response:
        services.conversation_delete(
            owner_id=_owner_id(request),
            conversation_id=_conversation_id(conversation_id),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageListView(UserScopedView):
    @extend_schema(
        operation_id="message_list",
        summary="A conversation's messages, oldest first",
        parameters=PAGE_PARAMETERS,
        responses={200: MessagePageSerializer, **ERRORS},
    )
    def get(self, request: Request, user_id: int, conversation_id: int) -> Response:
        size = pagination.page_size(request)
        rows = selectors.message_list(
            owner_id=_owner_id(request),
            conversation_id=_conversation_id(conversation_id),
            after_seq=pagination.seq_position(request),
            limit=size + 1,
        )
        return Response(pagination.page(request, rows, size, key="seq"))


class RegisterView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="register",
        request=RegisterSerializer,
        responses={
            201: RegisteredUserSerializer,
            400: ERRORS[400],
            403: OpenApiResponse(description="registration_closed"),
        },
    )
    def post(self, request: Request) -> Response:
        if not settings.REGISTRATION_OPEN:
            raise RegistrationClosed()
        serializer = RegisterSerializer(data=_json_object(request))
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(
            RegisteredUserSerializer(user).data, status=status.HTTP_201_CREATED
        )


@require_GET
def ping(request: HttpRequest) -> JsonResponse:
    """Answer with no auth, database or cache: the benchmark's bare baseline."""
    return JsonResponse({"status": "ok"})
