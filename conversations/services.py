"""Writes: chat turns, renames, deletes and registration."""

import hashlib
import json
import logging
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.fields import DateTimeField

from perfdash.probes import track_upstream

from . import selectors
from .backends import ChatMessage, Reply, get_backend
from .errors import (
    ConversationBusy,
    ConversationNotFound,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    MessageTooLong,
)
from .history import keep as keep_in_memory
from .models import Conversation, IdempotentTurn, Message
from .serializers import TITLE_BREAKING

logger = logging.getLogger(__name__)

TITLE_CHARS = 60


@dataclass(slots=True)
class _Claim:
    conversation_id: int
    last_seq: int
    title: str
    until: datetime
    is_new: bool


def request_fingerprint(*, message: str, conversation_id: int | None) -> str:
    """Return the hash that ties an ``Idempotency-Key`` to one request body."""
    body = json.dumps(
        {"message": message, "conversation_id": conversation_id}, sort_keys=True
    )
    return hashlib.sha256(body.encode()).hexdigest()


def chat_turn(
    *,
    owner_id: int,
    message: str,
    conversation_id: int | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Run one chat turn and return the response body.

    Starts a conversation when ``conversation_id`` is None. With an
    ``idempotency_key`` a retry returns the first turn's body unchanged.
    """
    max_chars = settings.CHAT["MAX_MESSAGE_CHARS"]
    if len(message) > max_chars:
        raise MessageTooLong(f"The message is longer than {max_chars} characters.")

    if idempotency_key is None:
        return _turn(
            owner_id=owner_id, message=message, conversation_id=conversation_id
        )

    fingerprint = request_fingerprint(message=message, conversation_id=conversation_id)
    stored = _idempotency_begin(
        owner_id=owner_id, key=idempotency_key, fingerprint=fingerprint
    )
    if stored is not None:
        return stored
    try:
        return _turn(
            owner_id=owner_id,
            message=message,
            conversation_id=conversation_id,
            idempotency_key=idempotency_key,
        )
    except BaseException:
        # Nothing was stored, so a retry must be free to run the turn.
        IdempotentTurn.objects.filter(
            owner_id=owner_id, key=idempotency_key, response__isnull=True
        ).delete()
        raise


def _turn(
    *,
    owner_id: int,
    message: str,
    conversation_id: int | None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    claim = _claim(owner_id=owner_id, conversation_id=conversation_id, message=message)
    try:
        history, truncated = selectors.context_window(
            owner_id=owner_id,
            conversation_id=claim.conversation_id,
            last_seq=claim.last_seq,
        )
        window: list[ChatMessage] = [*history, {"role": "user", "content": message}]
        backend = get_backend()
        _release_connection()
        started = time.perf_counter()
        with track_upstream() as timer:
            reply = backend.reply(messages=window, timer=timer)
        latency_ms = (time.perf_counter() - started) * 1000
    except BaseException:
        _release_claim(claim)
        raise

    body = _store(
        owner_id=owner_id,
        claim=claim,
        message=message,
        reply=reply,
        latency_ms=latency_ms,
        truncated=truncated,
        context_messages=len(history),
        idempotency_key=idempotency_key,
    )

    # Committed: the next turn finds its window under the new version.
    limit = selectors.context_limit()
    if limit:
        assistant: ChatMessage = {"role": "assistant", "content": reply.content}
        new_window = [*window, assistant][-limit:]
        # The stateful mode (comparison only) keeps it in process memory.
        if not keep_in_memory(
            owner_id=owner_id,
            conversation_id=claim.conversation_id,
            last_seq=claim.last_seq + 2,
            window=new_window,
        ):
            cache.set(
                selectors.window_key(
                    owner_id=owner_id,
                    conversation_id=claim.conversation_id,
                    last_seq=claim.last_seq + 2,
                ),
                new_window,
                settings.CHAT["HISTORY_CACHE_SECONDS"],
            )
    return body


def _claim(*, owner_id: int, conversation_id: int | None, message: str) -> _Claim:
    """Claim the conversation for one turn, without holding a transaction."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.CHAT["TURN_CLAIM_SECONDS"])

    if conversation_id is None:
        title = _title_from(message)
        conversation = Conversation.objects.create(
            owner_id=owner_id, title=title, busy_until=until
        )
        return _Claim(conversation.pk, 0, title, until, is_new=True)

    row = _claim_update(
        owner_id=owner_id, conversation_id=conversation_id, until=until, now=now
    )
    if row is None:
        # The UPDATE missed: no such conversation, or another turn held it.
        # That turn may have finished since, and a free conversation reads
        # busy_until NULL like a missing one would, so ask for the row itself.
        state = (
            Conversation.objects.filter(id=conversation_id, owner_id=owner_id)
            .values_list("id", "busy_until")
            .first()
        )
        if state is None:
            raise ConversationNotFound()
        busy_until = state[1]
        if busy_until is None or busy_until < timezone.now():
            # Freed in between: one more try, then it is a fair 409.
            row = _claim_update(
                owner_id=owner_id,
                conversation_id=conversation_id,
                until=until,
                now=timezone.now(),
            )
    if row is None:
        # Turns take milliseconds to seconds: a client should retry soon, not
        # wait out the claim (which only bounds a crashed worker's hold).
        raise ConversationBusy()
    return _Claim(conversation_id, row[0], row[1], until, is_new=False)


def _title_from(message: str) -> str:
    """Return a conversation title made from its first message."""
    # One line: control characters and whitespace runs become one space, as
    # a renamed title may not hold them either (serializers.TITLE_BREAKING).
    text = "".join(
        " " if unicodedata.category(ch) in TITLE_BREAKING else ch for ch in message
    )
    return " ".join(text.split())[:TITLE_CHARS]


def _claim_update(
    *, owner_id: int, conversation_id: int, until: datetime, now: datetime
) -> tuple[int, str] | None:
    """Take a free or expired claim in one statement; return (last_seq, title)."""
    table = Conversation._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET busy_until = %s "
            "WHERE id = %s AND owner_id = %s "
            "AND (busy_until IS NULL OR busy_until < %s) "
            "RETURNING last_seq, title",
            [adapt(until), conversation_id, owner_id, adapt(now)],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def _release_connection() -> None:
    """Give the pooled connection back while the reply backend works."""
    # Without the pool, closing would cost a reconnect for nothing; inside an
    # outer transaction (tests) closing would break it.
    pooled = connection.vendor == "postgresql" and bool(
        connection.settings_dict["OPTIONS"].get("pool")
    )
    if pooled and not connection.in_atomic_block:
        connection.close()


def _release_claim(claim: _Claim) -> None:
    """Undo a claim after a failed backend call; nothing of the turn is kept."""
    mine = Conversation.objects.filter(id=claim.conversation_id, busy_until=claim.until)
    if claim.is_new:
        mine.filter(last_seq=0).delete()
    else:
        mine.update(busy_until=None)


def _store(
    *,
    owner_id: int,
    claim: _Claim,
    message: str,
    reply: Reply,
    latency_ms: float,
    truncated: bool,
    context_messages: int,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Store both messages and release the claim in one short transaction."""
    now = timezone.now()
    user_message = Message(
        conversation_id=claim.conversation_id,
        owner_id=owner_id,
        role=Message.Role.USER,
        content=message,
        seq=claim.last_seq + 1,
    )
    assistant_message = Message(
        conversation_id=claim.conversation_id,
        owner_id=owner_id,
        role=Message.Role.ASSISTANT,
        content=reply.content,
        seq=claim.last_seq + 2,
        model_name=reply.model,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        latency_ms=round(latency_ms, 3),
    )
    with transaction.atomic():
        # Guarded on our own claim: if it expired and another turn took the
        # conversation, this turn must not write over it.
        updated = Conversation.objects.filter(
            id=claim.conversation_id, busy_until=claim.until
        ).update(last_seq=claim.last_seq + 2, updated_at=now, busy_until=None)
        if updated != 1:
            logger.warning(
                "Turn on conversation %s lost its claim; nothing stored",
                claim.conversation_id,
            )
            raise ConversationBusy(
                "The turn outlived its claim on the conversation; nothing was "
                "stored. Retry."
            )
        Message.objects.bulk_create([user_message, assistant_message])
        body = _turn_body(
            claim,
            [user_message, assistant_message],
            truncated=truncated,
            context_messages=context_messages,
        )
        if idempotency_key is not None:
            IdempotentTurn.objects.filter(
                owner_id=owner_id, key=idempotency_key
            ).update(response=body, conversation_id=claim.conversation_id)
    return body


def _turn_body(
    claim: _Claim, messages: list[Message], *, truncated: bool, context_messages: int
) -> dict[str, Any]:
    """Return a turn's response body, JSON-ready so it can be stored as is."""
    rendered = []
    for message in messages:
        item = {f: getattr(message, f) for f in selectors.MESSAGE_FIELDS}
        # Stored for idempotent replays, so text, as the API renders it.
        item["created_at"] = DateTimeField().to_representation(message.created_at)
        rendered.append(item)
    return {
        "conversation_id": claim.conversation_id,
        "title": claim.title,
        "messages": rendered,
        "truncated": truncated,
        "context_messages": context_messages,
    }


def _idempotency_begin(
    *, owner_id: int, key: str, fingerprint: str
) -> dict[str, Any] | None:
    """Reserve the key for this request, or return the stored first answer."""
    try:
        with transaction.atomic():
            IdempotentTurn.objects.create(
                owner_id=owner_id, key=key, request_hash=fingerprint
            )
        return None
    except IntegrityError:
        pass

    row = (
        IdempotentTurn.objects.filter(owner_id=owner_id, key=key)
        .values("request_hash", "response", "created_at")
        .first()
    )
    if row is None:
        # The first request failed and released the key a moment ago.
        raise IdempotencyKeyInFlight()
    if row["request_hash"] != fingerprint:
        raise IdempotencyKeyReused()
    if row["response"] is not None:
        return row["response"]

    # A reservation older than a turn claim belongs to a worker that died.
    stale = timezone.now() - timedelta(seconds=settings.CHAT["TURN_CLAIM_SECONDS"])
    if row["created_at"] < stale:
        taken = IdempotentTurn.objects.filter(
            owner_id=owner_id,
            key=key,
            response__isnull=True,
            created_at=row["created_at"],
        ).update(created_at=timezone.now())
        if taken:
            return None
    raise IdempotencyKeyInFlight()


def conversation_rename(
    *, owner_id: int, conversation_id: int, title: str
) -> dict[str, Any]:
    """Rename one of the user's conversations and return it."""
    updated = Conversation.objects.filter(id=conversation_id, owner_id=owner_id).update(
        title=title
    )
    if not updated:
        raise ConversationNotFound()
    return selectors.conversation_get(
        owner_id=owner_id, conversation_id=conversation_id
    )


def conversation_delete(*, owner_id: int, conversation_id: int) -> None:
    """Delete one of the user's conversations with its messages."""
    deleted, _ = Conversation.objects.filter(
        id=conversation_id, owner_id=owner_id
    ).delete()
    if not deleted:
        raise ConversationNotFound()
    logger.info("Conversation %s deleted by user %s", conversation_id, owner_id)


def user_register(*, username: str, password: str, email: str = "") -> Any:
    """Create an account; the caller has validated the password."""
    user_model = get_user_model()
    try:
        return user_model.objects.create_user(  # type: ignore[attr-defined]
            username=username, password=password, email=email
        )
    except IntegrityError as exc:
        # Two registrations raced for the same name.
        raise ValidationError({"username": ["This username is taken."]}) from exc
