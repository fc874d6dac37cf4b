"""API URLs: tokens, registration and the per-user chat endpoints.

The token and registration routes answer with or without their trailing
slash (``chatbot.routing``). The per-user routes have none, and APPEND_SLASH
never redirects a URL that already matches a route.
"""

from django.urls import path
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from chatbot.routing import slash_optional
from chatbot.throttling import TOKEN_THROTTLES

from . import api

urlpatterns = [
    *slash_optional(
        "token/",
        TokenObtainPairView.as_view(throttle_classes=TOKEN_THROTTLES),
        name="token_obtain_pair",
    ),
    *slash_optional(
        "token/refresh/",
        TokenRefreshView.as_view(throttle_classes=TOKEN_THROTTLES[:1]),
        name="token_refresh",
    ),
    *slash_optional("token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    *slash_optional(
        "token/blacklist/", TokenBlacklistView.as_view(), name="token_blacklist"
    ),
    *slash_optional("register/", api.RegisterView.as_view(), name="register"),
    path("ping", api.ping, name="ping"),
    path("<int:user_id>/chat", api.ChatView.as_view(), name="chat"),
    path(
        "<int:user_id>/conversations",
        api.ConversationListView.as_view(),
        name="conversation_list",
    ),
    path(
        "<int:user_id>/conversations/<int:conversation_id>",
        api.ConversationDetailView.as_view(),
        name="conversation_detail",
    ),
    path(
        "<int:user_id>/conversations/<int:conversation_id>/messages",
        api.MessageListView.as_view(),
        name="message_list",
    ),
]
