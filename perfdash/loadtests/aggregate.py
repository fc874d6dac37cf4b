"""Turn the samples of a load-test run into its figures and latency series.

Runs inside the Locust process (no Django), fed by the local runner or by
the master from its workers' reports. Percentiles come from DDSketch (the
``ddsketch`` package, about 1% relative error), the same kind of mergeable
sketch perfdash keeps. Only samples that started after the ramp count
towards the run's figures; the series keeps the ramp, marked as such.
"""

from dataclasses import dataclass, field
from typing import Any

from ddsketch import DDSketch

# One request as it travels from a worker to the master:
# (started epoch seconds, latency ms, ok 0/1, name, foreign messages or -1
# when the response was not checked for them, error text or "").
Sample = tuple[float, float, int, str, int, str]

CHAT = "chat"
RELATIVE_ACCURACY = 0.01


def _sketch() -> DDSketch:
    return DDSketch(relative_accuracy=RELATIVE_ACCURACY)


def _quantile_ms(sketch: DDSketch, percentile: float) -> float | None:
    if sketch.count == 0:
        return None
    value = sketch.get_quantile_value(percentile / 100)
    return None if value is None else round(float(value), 2)


@dataclass
class _Bucket:
    sketch: DDSketch = field(default_factory=_sketch)
    requests: int = 0
    failures: int = 0
    missed: int = 0


@dataclass
class _Totals:
    sketch: DDSketch = field(default_factory=_sketch)
    requests: int = 0
    failures: int = 0
    max_ms: float = 0.0


class RunAggregate:
    """Accumulate samples and missed arrival slots of one run."""

    def __init__(
        self, *, started: float, ramp_up: float, duration: float, interval: float = 5.0
    ) -> None:
        self.started = started
        self.steady_from = started + ramp_up
        self.steady_until = self.steady_from + duration
        self.duration = duration
        self.interval = interval
        self.steady: dict[str, _Totals] = {}
        self.buckets: dict[int, _Bucket] = {}
        self.missed_steady = 0
        self.missed_total = 0
        self.sent_total = 0
        self.checked = 0
        self.foreign = 0
        self.errors: dict[str, int] = {}

    def _in_steady(self, when: float) -> bool:
        return self.steady_from <= when < self.steady_until

    def _bucket(self, when: float) -> _Bucket:
        index = max(0, int((when - self.started) // self.interval))
        return self.buckets.setdefault(index, _Bucket())

    def add_samples(self, samples: list[Sample] | list[list[Any]]) -> None:
        """Add requests reported by a user or a worker."""
        for started, latency_ms, ok, name, foreign, error in samples:
            self.sent_total += 1
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
            if foreign >= 0:
                self.checked += 1
                self.foreign += foreign
            if name == CHAT:
                bucket = self._bucket(started)
                bucket.requests += 1
                bucket.failures += 0 if ok else 1
                bucket.sketch.add(max(latency_ms, 0.001))
            if not self._in_steady(started):
                continue
            totals = self.steady.setdefault(name, _Totals())
            totals.requests += 1
            totals.failures += 0 if ok else 1
            totals.sketch.add(max(latency_ms, 0.001))
            totals.max_ms = max(totals.max_ms, latency_ms)

    def add_missed(self, slots: list[float]) -> None:
        """Add arrival slots that passed before a user was free to send."""
        for when in slots:
            self.missed_total += 1
            self._bucket(when).missed += 1
            if self._in_steady(when):
                self.missed_steady += 1

    def summary(self, percentiles: tuple[int, ...] | list[int]) -> dict[str, Any]:
        """Return the steady-state figures of the run."""
        chat = self.steady.get(CHAT, _Totals())
        all_requests = sum(t.requests for t in self.steady.values())
        all_failures = sum(t.failures for t in self.steady.values())
        history = self.steady.get("history", _Totals())
        return {
            "requests": chat.requests,
            "failures": all_failures,
            "all_requests": all_requests,
            "history_reads": history.requests,
            "error_rate_pct": round(100 * all_failures / all_requests, 3)
            if all_requests
            else None,
            "achieved_rps": round(chat.requests / self.duration, 2),
            "missed_slots": self.missed_steady,
            "missed_slots_total": self.missed_total,
            "sent_total": self.sent_total,
            "avg_ms": round(chat.sketch.avg, 2) if chat.requests else None,
            "max_ms": round(chat.max_ms, 2) if chat.requests else None,
            "percentiles_ms": {
                str(p): _quantile_ms(chat.sketch, p) for p in percentiles
            },
            "history_p95_ms": _quantile_ms(history.sketch, 95),
            "isolation_checked": self.checked,
            "foreign_messages": self.foreign,
            # Whole run, ramp included: what went wrong, most frequent first.
            "errors": dict(sorted(self.errors.items(), key=lambda item: -item[1])[:10]),
        }

    def series(self) -> list[dict[str, Any]]:
        """Return the per-interval latency series, ramp included and marked."""
        rows = []
        # Every interval up to the last one with data, empty ones included,
        # so a chart shows a stall as a gap at zero.
        for index in range(max(self.buckets, default=-1) + 1):
            bucket = self.buckets.get(index) or _Bucket()
            offset = index * self.interval
            rows.append(
                {
                    "offset_s": offset,
                    "in_ramp": self.started + offset < self.steady_from,
                    "requests": bucket.requests,
                    "failures": bucket.failures,
                    "missed": bucket.missed,
                    "p50_ms": _quantile_ms(bucket.sketch, 50),
                    "p95_ms": _quantile_ms(bucket.sketch, 95),
                    "p99_ms": _quantile_ms(bucket.sketch, 99),
                }
            )
        return rows

    def progress(self, now: float) -> str:
        """Return one line telling how the run is going."""
        elapsed = now - self.started
        phase = "ramp" if now < self.steady_from else "steady"
        total = self.steady_until - self.started
        recent = self.buckets.get(max(0, int(elapsed // self.interval) - 1))
        p95 = _quantile_ms(recent.sketch, 95) if recent else None
        rate = recent.requests / self.interval if recent else 0.0
        failures = sum(b.failures for b in self.buckets.values())
        return (
            f"[{elapsed:6.1f}/{total:.0f}s {phase:6}] sent={self.sent_total} "
            f"rate={rate:.1f}/s p95={'-' if p95 is None else f'{p95:.1f}ms'} "
            f"failures={failures} missed={self.missed_total}"
        )
