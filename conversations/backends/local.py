"""The embedded stand-in for a model: instant, deterministic and offline.

It is not a language model. Its reply is built only from the context window
it is given, so anyone can see that the history was rebuilt for the turn.
"""

from perfdash.probes import UpstreamTimer

from .base import ChatMessage, Reply

MODEL_NAME = "local-echo"
QUOTE_CHARS = 80


class LocalBackend:
    def reply(self, *, messages: list[ChatMessage], timer: UpstreamTimer) -> Reply:
        """Describe the context window: how much came before, and the last words."""
        earlier = len(messages) - 1
        last = messages[-1]["content"] if messages else ""
        quote = " ".join(last.split())[:QUOTE_CHARS]
        timer.mark_first_token()
        content = f"[local] I have seen {earlier} earlier messages; you said: '{quote}'"
        words = sum(len(m["content"].split()) for m in messages)
        return Reply(
            content=content,
            model=MODEL_NAME,
            prompt_tokens=words,
            completion_tokens=len(content.split()),
        )
