"""Conversations and their messages, the source of truth for every turn."""

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="conversations",
    )
    title = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Sequence number of the newest message; also the version of the cached
    # context window, so a cached window can never be older than the row.
    last_seq = models.PositiveIntegerField(default=0)
    # One turn at a time: a turn claims the conversation until this instant.
    # A crashed worker's claim simply expires.
    busy_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The list: a user's conversations, newest first, ties by id.
            models.Index(
                fields=["owner", "-updated_at", "-id"], name="conv_owner_updated"
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        SYSTEM = "system"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # Denormalized owner: history reads filter on it without a join.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    seq = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    model_name = models.CharField(max_length=200, blank=True, default="")
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            # Also the index that serves history reads in order.
            models.UniqueConstraint(
                fields=["conversation", "seq"], name="message_conversation_seq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq} {self.role}"


class IdempotentTurn(models.Model):
    """The stored result of a chat POST sent with an ``Idempotency-Key``."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    # Fingerprint of the request body: the same key with another body is a
    # client bug and gets 422, not someone else's answer.
    request_hash = models.CharField(max_length=64)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, related_name="+"
    )
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "key"], name="idempotent_owner_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner_id}:{self.key}"
