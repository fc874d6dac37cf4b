"""The one place alerts read metric values: perfdash's stored minute rows."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Reading:
    """A metric's value over a window and how many samples it rests on."""

    value: float | None
    samples: int


def read(metric: str, start: datetime, end: datetime) -> Reading:
    """Return ``metric`` over ``[start, end)`` from perfdash's stored rows."""
    from perfdash import selectors  # noqa: F401  (wired once perfdash lands)

    raise NotImplementedError(metric)


def read_many(
    keys: Iterable[tuple[str, timedelta]], *, end: datetime
) -> dict[tuple[str, timedelta], Reading]:
    """Return a reading for each ``(metric, window)`` over the window to ``end``."""
    return {
        (metric, window): read(metric, end - window, end) for metric, window in keys
    }
