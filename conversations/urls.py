"""API URLs: tokens, registration and the per-user chat endpoints."""

from django.urls import path
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from chatbot.throttling import TOKEN_THROTTLES

from . import api

urlpatterns = [
    path(
        "token/",
        TokenObtainPairView.as_view(throttle_classes=TOKEN_THROTTLES),
        name="token_obtain_pair",
    ),
    path(
        "token/refresh/",
        TokenRefreshView.as_view(throttle_classes=TOKEN_THROTTLES[:1]),
        name="token_refresh",
    ),
    path("token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path("token/blacklist/", TokenBlacklistView.as_view(), name="token_blacklist"),
    path("register/", api.RegisterView.as_view(), name="register"),
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
