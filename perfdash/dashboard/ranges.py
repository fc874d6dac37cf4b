"""Time ranges of the dashboard: the presets, a custom range, the chart step."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import status

from chatbot.errors import ApiError

PRESETS: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
DEFAULT_PRESET = "1h"
# The longest custom range: the day rows are kept a year.
MAX_SPAN = timedelta(days=366)
# Chart steps, finest first; a chart gets the finest one that keeps it under
# MAX_POINTS points. Past HOURLY_FROM the step is whole hours, so the series
# reads hour and day rollups instead of every process's minute rows.
HOURLY_FROM = timedelta(hours=12)
STEPS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(days=1),
)
MAX_POINTS = 180


class InvalidRange(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_range"
    default_detail = "The time range is not valid."


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open range [start, end) of whole minutes, in UTC."""

    start: datetime
    end: datetime
    preset: str  # one of PRESETS, or "custom"

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    @property
    def step(self) -> timedelta:
        """Return the chart step for this range."""
        for step in STEPS:
            if self.span > HOURLY_FROM and step < timedelta(hours=1):
                continue
            if self.span / step <= MAX_POINTS:
                return step
        return STEPS[-1]

    @property
    def refresh_seconds(self) -> int | None:
        """Return how often the page reloads itself; a custom range stands still."""
        if self.preset == "custom":
            return None
        seconds = int(settings.PERFDASH["REFRESH_SECONDS"])
        return seconds if self.span <= timedelta(hours=1) else 2 * seconds

    def query(self) -> dict[str, str]:
        """Return the query parameters that select this range again."""
        if self.preset != "custom":
            return {"range": self.preset}
        return {
            "range": "custom",
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _parse_instant(raw: str, name: str) -> datetime:
    try:
        moment = parse_datetime(raw.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidRange(
            f"'{name}' must be a date and time such as 2026-01-31T12:00.",
            code="invalid_range",
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_range(params: Any, *, now: datetime | None = None) -> TimeRange:
    """Return the range that query parameters select, or raise InvalidRange."""
    now = now or timezone.now()
    preset = params.get("range") or DEFAULT_PRESET
    if preset in PRESETS:
        # The current, unfinished minute is included: the page shows what
        # has been flushed so far.
        end = _floor_minute(now) + timedelta(minutes=1)
        return TimeRange(start=end - PRESETS[preset], end=end, preset=preset)
    if preset != "custom":
        raise InvalidRange(
            "'range' must be one of " + ", ".join([*PRESETS, "custom"]) + ".",
            code="invalid_range",
        )

    start = _floor_minute(_parse_instant(params.get("start") or "", "start"))
    end = _floor_minute(_parse_instant(params.get("end") or "", "end"))
    if end <= start:
        raise InvalidRange("'end' must be after 'start'.", code="invalid_range")
    if end - start > MAX_SPAN:
        raise InvalidRange(
            "A custom range may span at most 366 days.", code="invalid_range"
        )
    return TimeRange(start=start, end=end, preset="custom")
