"""The ``stateful`` history mode: context windows kept in process memory.

Used only to measure what the default ``stateless`` design costs
(``manage.py compare_modes``). A web process keeps each conversation's
window in a dict after a turn and reads it back on the next turn instead of
asking the cache or the database. That is only correct when every turn of a
conversation reaches the same process (sticky routing, or one process), and
a restart loses the windows: exactly what the stateless design avoids.

With ``CHAT['HISTORY_MODE']`` left at ``stateless`` nothing here runs.
"""

import threading

from django.conf import settings

from .backends import ChatMessage

STATEFUL = "stateful"

_lock = threading.Lock()
# conversation id -> (owner id, last_seq, window)
_windows: dict[int, tuple[int, int, list[ChatMessage]]] = {}


def is_stateful() -> bool:
    """Return whether this process keeps context windows in memory."""
    return settings.CHAT["HISTORY_MODE"] == STATEFUL


def recall(
    *, owner_id: int, conversation_id: int, last_seq: int
) -> list[ChatMessage] | None:
    """Return the kept window at exactly this version, or None."""
    if not is_stateful():
        return None
    with _lock:
        kept = _windows.get(conversation_id)
    if kept is None or kept[0] != owner_id or kept[1] != last_seq:
        return None
    return list(kept[2])


def keep(
    *, owner_id: int, conversation_id: int, last_seq: int, window: list[ChatMessage]
) -> bool:
    """Keep a committed window in memory; return False in stateless mode."""
    if not is_stateful():
        return False
    with _lock:
        _windows[conversation_id] = (owner_id, last_seq, window)
    return True


def kept_sessions() -> int:
    """Return how many conversations this process holds in memory."""
    with _lock:
        return len(_windows)


def forget_all() -> None:
    """Drop every kept window (tests)."""
    with _lock:
        _windows.clear()
