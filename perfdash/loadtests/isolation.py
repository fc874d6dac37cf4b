"""Tag each simulated user's messages so a foreign one is seen anywhere.

Every message a load-test user sends carries ``[lt-u<user id>]``; a response
or history page holding another id's tag is a message of another user
leaking into this one's view.
"""

import re

_MARKER = re.compile(r"\[lt-u(\d+)\]")


def marker_for(user_id: int) -> str:
    """Return the tag that marks a message as sent by this user."""
    return f"[lt-u{user_id}]"


def count_foreign(text: str, user_id: int) -> int:
    """Return how many tags in the text belong to other users."""
    own = str(user_id)
    return sum(1 for found in _MARKER.findall(text) if found != own)
