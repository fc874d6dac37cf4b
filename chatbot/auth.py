"""Token authentication and serializers that close gaps in simplejwt's defaults."""

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.contrib.rest_framework_simplejwt import (
    SimpleJWTStatelessUserScheme,
)
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token


class TokenExpired(AuthenticationFailed):
    default_code = "token_expired"
    default_detail = (
        "The access token has expired; get a new one by posting the refresh "
        "token to /api/token/refresh/."
    )


class StatelessJWTAuthentication(JWTStatelessUserAuthentication):
    """Trust the token alone (no user query); say so when it has only expired."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        # simplejwt folds every failure into one InvalidToken whose only trace
        # of the cause is a translated message; its token classes raise
        # ExpiredTokenError for a valid signature past its "exp", so ask them.
        expired = False
        for token_class in api_settings.AUTH_TOKEN_CLASSES:
            try:
                return token_class(raw_token)
            except ExpiredTokenError:
                expired = True
            except TokenError:
                pass
        if expired:
            raise TokenExpired()
        return super().get_validated_token(raw_token)


class StatelessJWTScheme(SimpleJWTStatelessUserScheme):
    """Document StatelessJWTAuthentication as simplejwt's bearer scheme."""

    target_class = "chatbot.auth.StatelessJWTAuthentication"


class RefreshSerializer(TokenRefreshSerializer):
    """Refresh a token pair; a refresh token of a deleted user is a 401."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        # simplejwt looks the user up with .get() and lets DoesNotExist escape
        # as a 500 when the account was deleted after the token was issued.
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist as exc:
            raise AuthenticationFailed(
                "No active account found for the given token.",
                code="no_active_account",
            ) from exc
