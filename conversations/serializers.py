"""Request validation and the documented shapes of the chat API."""

import unicodedata
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

# Largest id PostgreSQL's bigint holds; anything above is no conversation.
MAX_ID = 2**63 - 1


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            # Lone surrogates pass JSON parsing but no database stores them.
            data.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("invalid")
        return super().to_internal_value(data)


class ChatRequestSerializer(serializers.Serializer):
    # Whitespace is kept as sent: it is part of what the user wrote. The
    # length limit is checked by the service (413, not 400).
    message = StrictCharField(trim_whitespace=False)
    conversation_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID
    )

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("The message is empty.")
        return value

    def to_internal_value(self, data: Any) -> Any:
        conversation_id = (
            data.get("conversation_id") if isinstance(data, dict) else None
        )
        if isinstance(conversation_id, bool | float | str):
            # IntegerField would accept true, 1.0 and "1"; an id is a number.
            raise serializers.ValidationError(
                {"conversation_id": ["A valid integer is required."]}
            )
        return super().to_internal_value(data)


class MessageSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    role = serializers.CharField()
    content = serializers.CharField()
    created_at = serializers.DateTimeField()
    model_name = serializers.CharField()
    prompt_tokens = serializers.IntegerField(allow_null=True)
    completion_tokens = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.FloatField(allow_null=True)


class ChatResponseSerializer(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    title = serializers.CharField()
    messages = MessageSerializer(many=True)
    truncated = serializers.BooleanField(
        help_text="True when older messages were left out of the context window."
    )
    context_messages = serializers.IntegerField(
        help_text="How many earlier messages the reply backend was given."
    )


class ConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    message_count = serializers.IntegerField(source="last_seq")


# Unicode categories a one-line title may not hold: control characters
# (NUL, tabs, newlines, escapes) and the line and paragraph separators.
TITLE_BREAKING = frozenset({"Cc", "Zl", "Zp"})


class ConversationRenameSerializer(serializers.Serializer):
    title = StrictCharField(max_length=200)

    def validate_title(self, value: str) -> str:
        if any(unicodedata.category(ch) in TITLE_BREAKING for ch in value):
            raise serializers.ValidationError(
                "A title is one line of text, without control characters."
            )
        return value


def page_serializer(item: type[serializers.Serializer], name: str) -> Any:
    """Return a serializer class documenting one cursor page of ``item``."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item(many=True),
            "next": serializers.CharField(allow_null=True),
        },
    )


ConversationPageSerializer = page_serializer(ConversationSerializer, "ConversationPage")
MessagePageSerializer = page_serializer(MessageSerializer, "MessagePage")


class RegisterSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(write_only=True, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True, default="")

    def validate_username(self, value: str) -> str:
        user_model = get_user_model()
        user_model.username_validator(value)  # type: ignore[attr-defined]
        if user_model.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("This username is taken.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = get_user_model()(username=attrs["username"], email=attrs["email"])
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class RegisteredUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
