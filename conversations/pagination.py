"""Keyset cursor pagination: each page starts strictly after the last row seen.

DRF's ``CursorPagination`` keeps its position on the first ordering field
only, so rows sharing an ``updated_at`` can be skipped or repeated between
pages. These cursors carry the whole sort key, ``(updated_at, id)`` for
conversations and ``seq`` for messages, and are opaque to clients.
"""

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from chatbot.errors import ApiError

CURSOR_PARAM = "cursor"
SIZE_PARAM = "page_size"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


# Cursors this module writes are well under this; longer ones are not ours.
MAX_CURSOR_CHARS = 200
# Ids and sequence numbers are PostgreSQL bigints.
MAX_POSITION = 2**63 - 1


class InvalidCursor(ApiError):
    default_code = "invalid_cursor"
    default_detail = "The cursor is not valid; start from the first page."


class InvalidPageSize(ApiError):
    default_code = "invalid_page_size"
    default_detail = f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}."


def page_size(request: Request) -> int:
    """Return the page size the request asks for, within bounds."""
    raw = request.query_params.get(SIZE_PARAM)
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise InvalidPageSize()
    return int(raw)


def _decode(request: Request) -> dict[str, Any] | None:
    raw = request.query_params.get(CURSOR_PARAM)
    if raw is None:
        return None
    if len(raw) > MAX_CURSOR_CHARS:
        raise InvalidCursor()
    try:
        value = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
    except (ValueError, UnicodeEncodeError, binascii.Error, RecursionError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(value, dict):
        raise InvalidCursor()
    return value


def _position_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidCursor()
    if not 0 <= value <= MAX_POSITION:
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
    return _position_int(value.get("s"))


def updated_position(request: Request) -> tuple[datetime, int] | None:
    """Return the ``(updated_at, id)`` a conversation page starts after."""
    value = _decode(request)
    if value is None:
        return None
    pk = _position_int(value.get("i"))
    raw_time = value.get("u")
    if not isinstance(raw_time, str):
        raise InvalidCursor()
    try:
        # Well-formed but impossible dates ("2026-02-30") and offsets
        # ("+99:00") raise ValueError; a date at the edge of the calendar can
        # overflow on the way to UTC.
        stamp = parse_datetime(raw_time)
        if stamp is None or stamp.tzinfo is None:
            raise InvalidCursor()
        stamp = stamp.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor() from exc
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
