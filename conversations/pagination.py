"""Keyset cursor pagination: each page starts strictly after the last row seen.

DRF's ``CursorPagination`` keeps its position on the first ordering field
only, so rows sharing an ``updated_at`` can be skipped or repeated between
pages. These cursors carry the whole sort key, ``(updated_at, id)`` for
conversations and ``seq`` for messages, and are opaque to clients.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from chatbot.errors import ApiError

CURSOR_PARAM = "cursor"
SIZE_PARAM = "page_size"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class InvalidCursor(ApiError):
    default_code = "invalid_cursor"
    default_detail = "The cursor or page size is not valid; start from the first page."


def page_size(request: Request) -> int:
    """Return the page size the request asks for, within bounds."""
    raw = request.query_params.get(SIZE_PARAM)
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise InvalidCursor(f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
    return int(raw)


def _decode(request: Request) -> dict[str, Any] | None:
    raw = request.query_params.get(CURSOR_PARAM)
    if raw is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
    except (ValueError, UnicodeEncodeError, binascii.Error) as exc:
        raise InvalidCursor() from exc
    if not isinstance(value, dict):
        raise InvalidCursor()
    return value


def _next_url(request: Request, position: dict[str, Any]) -> str:
    token = base64.urlsafe_b64encode(json.dumps(position).encode()).decode("ascii")
    return replace_query_param(request.build_absolute_uri(), CURSOR_PARAM, token)


def seq_position(request: Request) -> int:
    """Return the ``seq`` a message page starts after (0 for the first)."""
    value = _decode(request)
    if value is None:
        return 0
    seq = value.get("s")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidCursor()
    return seq


def updated_position(request: Request) -> tuple[datetime, int] | None:
    """Return the ``(updated_at, id)`` a conversation page starts after."""
    value = _decode(request)
    if value is None:
        return None
    pk = value.get("i")
    raw_time = value.get("u")
    stamp = parse_datetime(raw_time) if isinstance(raw_time, str) else None
    if stamp is None or not isinstance(pk, int) or isinstance(pk, bool):
        raise InvalidCursor()
    return stamp, pk


def page(
    request: Request, rows: list[dict[str, Any]], size: int, key: str
) -> dict[str, Any]:
    """Return the page body; ``rows`` holds up to one row more than ``size``."""
    results = rows[:size]
    next_url = None
    if len(rows) > size:
        last = results[-1]
        if key == "seq":
            next_url = _next_url(request, {"s": last["seq"]})
        else:
            next_url = _next_url(
                request, {"u": last["updated_at"].isoformat(), "i": last["id"]}
            )
    return {"results": results, "next": next_url}
