"""Reply backend for any OpenAI-compatible chat completions server.

Uses the ``openai`` package (streaming, so the time to first token is
measured) with no retries: a retry is the client's decision, and the API
tells it when with ``Retry-After``.
"""

import functools
import logging
from typing import cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from conversations.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from perfdash.probes import UpstreamTimer

from .base import ChatMessage, Reply

logger = logging.getLogger(__name__)

# Status codes that mean "overloaded or down, try again later".
RETRYABLE_STATUSES = frozenset({429, 503})


@functools.lru_cache(maxsize=8)
def _client(
    base_url: str, api_key: str, connect_timeout: float, read_timeout: float
) -> openai.OpenAI:
    # One client (and its HTTP connection pool) per configuration, shared by
    # the threads of a process.
    return openai.OpenAI(
        base_url=base_url,
        # Local servers (vLLM, Ollama, llama.cpp) accept any key.
        api_key=api_key or "unused",
        timeout=openai.Timeout(read_timeout, connect=connect_timeout),
        max_retries=0,
    )


class OpenAIBackend:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.model = model
        self.client = _client(base_url, api_key, connect_timeout, read_timeout)

    def reply(self, *, messages: list[ChatMessage], timer: UpstreamTimer) -> Reply:
        """Stream a completion and return it whole; map failures to API errors."""
        try:
            stream = self.client.chat.completions.create(
                model=self.model,
                messages=cast(list[ChatCompletionMessageParam], messages),
                stream=True,
                stream_options={"include_usage": True},
            )
        except openai.APITimeoutError as exc:
            logger.warning("Model server timed out before answering")
            raise UpstreamTimeout() from exc
        except openai.APIConnectionError as exc:
            logger.warning("Model server unreachable: %s", type(exc).__name__)
            raise UpstreamUnavailable() from exc
        except openai.APIStatusError as exc:
            logger.warning("Model server answered HTTP %s", exc.status_code)
            if exc.status_code in RETRYABLE_STATUSES:
                raise UpstreamUnavailable() from exc
            raise UpstreamError() from exc
        except (openai.OpenAIError, ValueError) as exc:
            logger.warning("Model server sent garbage: %s", type(exc).__name__)
            raise UpstreamError() from exc

        return self._collect(stream, timer)

    def _collect(self, stream: openai.Stream, timer: UpstreamTimer) -> Reply:
        parts: list[str] = []
        model = self.model
        prompt_tokens = completion_tokens = None
        finish_reason = None
        try:
            with stream:
                for chunk in stream:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        prompt_tokens = chunk.usage.prompt_tokens
                        completion_tokens = chunk.usage.completion_tokens
                    for choice in chunk.choices:
                        finish_reason = choice.finish_reason or finish_reason
                        if choice.delta.content:
                            timer.mark_first_token()
                            parts.append(choice.delta.content)
        except openai.APITimeoutError as exc:
            logger.warning("Model server stalled mid-reply")
            raise UpstreamTimeout() from exc
        except (openai.OpenAIError, ValueError, AttributeError, TypeError) as exc:
            # A dropped connection mid-stream or chunks that are not chat
            # completion chunks: the reply is broken either way.
            logger.warning("Model server broke its reply: %s", type(exc).__name__)
            raise UpstreamError("The model server ended its reply early.") from exc

        content = "".join(parts)
        if finish_reason is None:
            # The stream ended without a finished choice: the server or the
            # network cut the reply short.
            logger.warning("Model server ended its reply without finishing")
            raise UpstreamError("The model server ended its reply early.")
        if not content.strip():
            logger.warning("Model server sent an empty reply")
            raise UpstreamError("The model server sent an empty reply.")
        return Reply(
            content=content,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
