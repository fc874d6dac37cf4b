"""Reads: context windows, conversation lists and history pages."""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from . import history
from .backends import ChatMessage
from .errors import ConversationNotFound
from .models import Conversation, Message

logger = logging.getLogger(__name__)

CONVERSATION_FIELDS = ("id", "title", "created_at", "updated_at", "last_seq")
MESSAGE_FIELDS = (
    "seq",
    "role",
    "content",
    "created_at",
    "model_name",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
)


def context_limit() -> int:
    """Return how many earlier messages a turn sends to the reply backend."""
    return int(settings.CHAT["CONTEXT_MESSAGES"])


def window_key(*, owner_id: int, conversation_id: int, last_seq: int) -> str:
    """Return the cache key of a context window.

    The owner makes a foreign entry unreachable; ``last_seq`` is the version,
    so a window is never read for a conversation that has moved on; the limit
    keeps a window cut for another setting from being served.
    """
    limit = context_limit()
    return f"ctx:v1:{owner_id}:{conversation_id}:{last_seq}:{limit}"


def context_window(
    *, owner_id: int, conversation_id: int, last_seq: int
) -> tuple[list[ChatMessage], bool]:
    """Return the last messages up to ``last_seq`` and whether older ones exist.

    The caller holds the turn claim, which has already checked the owner.
    """
    limit = context_limit()
    truncated = last_seq > limit
    if last_seq == 0 or limit == 0:
        return [], truncated

    # The comparison-only stateful mode (history.py) answers from memory.
    kept = history.recall(
        owner_id=owner_id, conversation_id=conversation_id, last_seq=last_seq
    )
    if kept is not None:
        return kept, truncated

    key = window_key(
        owner_id=owner_id, conversation_id=conversation_id, last_seq=last_seq
    )
    cached = cache.get(key)
    if cached is not None:
        return cached, truncated

    # The (conversation, seq) unique index serves this range directly.
    rows = Message.objects.filter(
        conversation_id=conversation_id, seq__gt=last_seq - limit, seq__lte=last_seq
    ).order_by("seq")
    window: list[ChatMessage] = [
        {"role": role, "content": content}
        for role, content in rows.values_list("role", "content")
    ]
    return window, truncated


def conversation_exists(*, owner_id: int, conversation_id: int) -> bool:
    """Return whether the user owns a conversation with this id."""
    return Conversation.objects.filter(id=conversation_id, owner_id=owner_id).exists()


def conversation_get(*, owner_id: int, conversation_id: int) -> dict[str, Any]:
    """Return one of the user's conversations, or raise 404."""
    row = (
        Conversation.objects.filter(id=conversation_id, owner_id=owner_id)
        .values(*CONVERSATION_FIELDS)
        .first()
    )
    if row is None:
        raise ConversationNotFound()
    return row


def conversation_list(
    *, owner_id: int, after: tuple[datetime, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Return up to ``limit`` conversations, newest first, after a position."""
    rows = Conversation.objects.filter(owner_id=owner_id)
    if after is not None:
        updated_at, pk = after
        rows = rows.filter(
            Q(updated_at__lt=updated_at) | Q(updated_at=updated_at, id__lt=pk)
        )
    return list(
        rows.order_by("-updated_at", "-id").values(*CONVERSATION_FIELDS)[:limit]
    )


def message_list(
    *, owner_id: int, conversation_id: int, after_seq: int, limit: int
) -> list[dict[str, Any]]:
    """Return up to ``limit`` messages oldest first after ``after_seq``, or 404.

    One query; a second one only when the page is empty, to tell an unknown
    or foreign conversation from the end of the history.
    """
    rows = list(
        Message.objects.filter(
            owner_id=owner_id, conversation_id=conversation_id, seq__gt=after_seq
        )
        .order_by("seq")
        .values(*MESSAGE_FIELDS)[:limit]
    )
    if not rows and not conversation_exists(
        owner_id=owner_id, conversation_id=conversation_id
    ):
        raise ConversationNotFound()
    return rows
