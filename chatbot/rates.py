"""Rate strings of the throttles ("30/min"), read strictly.

Imported by the settings to refuse a bad rate at start, so it imports nothing
from Django or DRF.
"""

import re

_RATE = re.compile(r"\s*(\d+)\s*/\s*([a-zA-Z]+)\s*")
_PERIODS = {
    "s": 1, "sec": 1, "second": 1,
    "m": 60, "min": 60, "minute": 60,
    "h": 3600, "hour": 3600,
    "d": 86400, "day": 86400,
}  # fmt: skip
RATE_FORMS = '"N/s", "N/min", "N/hour", "N/day" (N at least 1) or "none"'


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """Return ``(requests, seconds)`` for a rate like ``"30/min"``; None for none.

    Raise ValueError for anything else, naming the accepted forms.
    """
    if rate is None or rate.strip().lower() in ("", "none"):
        return None
    match = _RATE.fullmatch(rate)
    unit = match.group(2).lower() if match else ""
    if unit not in _PERIODS and unit.endswith("s"):
        unit = unit[:-1]  # "seconds", "mins", "hours", "days"
    if match is None or unit not in _PERIODS or int(match.group(1)) < 1:
        raise ValueError(f"{rate!r} is not a rate: use {RATE_FORMS}.")
    return int(match.group(1)), _PERIODS[unit]
