"""The fixed arrival schedule of one simulated user (no Locust, no gevent).

User ``i`` of ``N`` owns the slots ``epoch + (i/N + k) * interval``; all
users together send ``N / interval`` requests a second. A slot that passed
more than ``tolerance`` seconds before the user was free is missed: it is
reported, never sent late, so a slow server shows up as a shortfall instead
of as a quietly lower rate.
"""

import math


class ArrivalSchedule:
    """Hand out one user's send times and the slots it had to skip."""

    def __init__(
        self, *, epoch: float, phase: float, interval: float, tolerance: float,
        now: float,
    ) -> None:  # fmt: skip
        self.interval = interval
        self.tolerance = tolerance
        due = epoch + phase * interval
        if now - due > tolerance:
            # Slots before the user existed (the ramp) are not missed; one
            # that passed while it was being spawned is still sent.
            due += math.ceil((now - due) / interval) * interval
        self.due = due

    def next_slot(self, now: float) -> tuple[float, list[float]]:
        """Return when to send the next request and the slots skipped for it."""
        missed = []
        while now - self.due > self.tolerance:
            missed.append(self.due)
            self.due += self.interval
        due = self.due
        self.due += self.interval
        return due, missed
