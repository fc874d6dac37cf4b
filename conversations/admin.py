"""Admin for conversations and messages: read-mostly, for support and audits."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Conversation, Message


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("seq", "role", "content", "model_name", "latency_ms", "created_at")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "owner", "last_seq", "updated_at")
    list_select_related = ("owner",)
    search_fields = ("title",)
    list_filter = ("updated_at",)
    raw_id_fields = ("owner",)
    readonly_fields = ("owner", "last_seq", "busy_until", "created_at", "updated_at")
    ordering = ("-updated_at", "-id")
    inlines = [MessageInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Conversations are made by chat turns, which keep seq numbers whole.
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "conversation", "seq", "role", "owner", "created_at")
    list_select_related = ("conversation", "owner")
    search_fields = ("conversation__title",)
    list_filter = ("role",)
    raw_id_fields = ("conversation", "owner")
    readonly_fields = (
        "conversation",
        "owner",
        "role",
        "content",
        "seq",
        "created_at",
        "model_name",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
    )
    ordering = ("-id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
