"""Token serializers that close gaps in simplejwt's defaults."""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer


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
