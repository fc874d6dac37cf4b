"""What a reply backend receives and returns."""

from dataclasses import dataclass
from typing import Protocol, TypedDict

from perfdash.probes import UpstreamTimer


class ChatMessage(TypedDict):
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Reply:
    content: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class ReplyBackend(Protocol):
    def reply(self, *, messages: list[ChatMessage], timer: UpstreamTimer) -> Reply:
        """Return the assistant's reply to the context window ``messages``."""
        ...
