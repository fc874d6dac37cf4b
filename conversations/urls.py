"""API URLs: tokens, registration and the per-user chat endpoints."""

from django.urls import path
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from chatbot.throttling import TOKEN_THROTTLES

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
]
