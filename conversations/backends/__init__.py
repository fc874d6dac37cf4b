"""Reply backends, chosen by ``settings.CHAT["BACKEND"]`` at call time."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import ChatMessage, Reply, ReplyBackend
from .local import LocalBackend

__all__ = ["ChatMessage", "Reply", "ReplyBackend", "get_backend"]


def get_backend() -> ReplyBackend:
    """Return the reply backend the settings name now."""
    chat = settings.CHAT
    name = chat["BACKEND"]
    if name == "local":
        return LocalBackend()
    if name == "openai":
        from .openai_compatible import OpenAIBackend

        return OpenAIBackend(
            base_url=chat["OPENAI_BASE_URL"],
            api_key=chat["OPENAI_API_KEY"],
            model=chat["MODEL"],
            connect_timeout=chat["CONNECT_TIMEOUT"],
            read_timeout=chat["READ_TIMEOUT"],
        )
    raise ImproperlyConfigured(f"Unknown CHAT_BACKEND {name!r}: use local or openai.")
