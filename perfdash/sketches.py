"""Mergeable latency sketches: DDSketch (``ddsketch``) and a compact JSON form.

DDSketch (relative accuracy 1%) maps every value to a logarithmic bucket, so
merging sketches from processes, hosts and time windows is exact bucket
addition. The stored form is JSON of the sparse positive buckets plus the
zero bucket, count, sum, min and max; ``protobuf`` is not a dependency here,
and JSON reads on SQLite and PostgreSQL alike.
"""

import json
from collections.abc import Iterable, Sequence

from ddsketch import DDSketch

RELATIVE_ACCURACY = 0.01
FORMAT_VERSION = 1
# The key-to-value mapping every sketch here shares (same accuracy).
_MAPPING = DDSketch(RELATIVE_ACCURACY)._mapping


def new_sketch(values: Iterable[float] = ()) -> DDSketch:
    """Return an empty sketch at the project's accuracy, filled with values."""
    sketch = DDSketch(RELATIVE_ACCURACY)
    for value in values:
        sketch.add(value)
    return sketch


def add_many(sketch: DDSketch, values: Sequence[float]) -> None:
    """Add values to a sketch; the same buckets as ``sketch.add`` for each value.

    Counts the library's bucket keys first and adds each bucket once, which
    is several times cheaper than one ``add`` per value for a flush's worth
    of request times.
    """
    if not values:
        return
    mapping = sketch._mapping
    key, smallest = mapping.key, mapping.min_possible
    counts: dict[int, int] = {}
    zero = 0
    for value in values:
        if value > smallest:
            index = key(value)
            counts[index] = counts.get(index, 0) + 1
        elif value < -smallest:
            sketch.add(value)  # never a duration; keep the library's path
        else:
            zero += 1
    store = sketch._store
    for index, count in counts.items():
        store.add(index, count)
    added = sum(counts.values()) + zero
    sketch._zero_count += zero
    sketch._count += added
    sketch._sum += sum(v for v in values if v >= -smallest)
    low, high = min(values), max(values)
    if low < sketch._min:
        sketch._min = low
    if high > sketch._max:
        sketch._max = high


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def dumps(sketch: DDSketch) -> str:
    """Return the compact JSON form of a sketch (empty string when empty)."""
    if sketch.count == 0:
        return ""
    store = sketch._store
    bins = {
        str(store.offset + index): _number(count)
        for index, count in enumerate(store.bins)
        if count
    }
    return json.dumps(
        {
            "v": FORMAT_VERSION,
            "z": _number(sketch._zero_count),
            "n": _number(sketch._count),
            "s": sketch._sum,
            "lo": sketch._min,
            "hi": sketch._max,
            "b": bins,
        },
        separators=(",", ":"),
    )


def loads(text: str | None) -> DDSketch:
    """Return the sketch stored by :func:`dumps` (empty for an empty text)."""
    sketch = new_sketch()
    if not text:
        return sketch
    data = json.loads(text)
    store = sketch._store
    for key, count in data["b"].items():
        store.add(int(key), count)
    sketch._zero_count = data["z"]
    sketch._count = data["n"]
    sketch._sum = data["s"]
    sketch._min = data["lo"]
    sketch._max = data["hi"]
    return sketch


def merge_all(sketches: Iterable[DDSketch]) -> DDSketch:
    """Return one sketch holding every value of the given sketches."""
    merged = new_sketch()
    for sketch in sketches:
        if sketch.count:
            merged.merge(sketch)
    return merged


def merge_texts(texts: Iterable[str | None]) -> DDSketch:
    """Return the merge of stored sketches."""
    return merge_all(loads(text) for text in texts if text)


def merge_into_text(text: str | None, sketch: DDSketch) -> str:
    """Return the stored form of a stored sketch plus another sketch.

    Adds bucket counts on the parsed JSON directly: a flush merges into
    stored rows every few seconds, and this skips building a sketch per row.
    """
    if not sketch.count:
        return text or ""
    if not text:
        return dumps(sketch)
    data = json.loads(text)
    stored = data["b"]
    for key, count in bins(sketch).items():
        name = str(key)
        stored[name] = _number(stored.get(name, 0) + count)
    data["z"] = _number(data["z"] + sketch._zero_count)
    data["n"] = _number(data["n"] + sketch._count)
    data["s"] += sketch._sum
    data["lo"] = min(data["lo"], sketch._min)
    data["hi"] = max(data["hi"], sketch._max)
    return json.dumps(data, separators=(",", ":"))


def quantile(sketch: DDSketch, q: float) -> float | None:
    """Return the q-quantile of a sketch, or None when it holds nothing."""
    if not sketch.count:
        return None
    value = sketch.get_quantile_value(q)
    return None if value is None else float(value)


def bins(sketch: DDSketch) -> dict[int, float]:
    """Return the sketch's positive buckets as key -> count."""
    store = sketch._store
    return {
        store.offset + index: count for index, count in enumerate(store.bins) if count
    }


def cumulative_counts(sketch: DDSketch, bounds: Sequence[float]) -> list[float]:
    """Return how many values fall at or below each bound (Prometheus ``le``).

    A bucket is counted under a bound when its representative value is at or
    below the bound, so counts are exact up to the sketch's 1% bucket width.
    """
    mapping = sketch._mapping
    per_bucket = sorted(
        (mapping.value(key), count) for key, count in bins(sketch).items()
    )
    result = []
    for bound in bounds:
        total = sketch._zero_count if bound >= 0 else 0.0
        total += sum(count for value, count in per_bucket if value <= bound)
        result.append(total)
    return result


class SketchMerger:
    """Add stored sketches bucket by bucket without building one per row.

    Reading a range merges thousands of stored sketches; adding the JSON
    buckets into one dict is the same exact addition as ``DDSketch.merge``
    at a fraction of the cost.
    """

    __slots__ = ("buckets", "zero", "count", "total", "low", "high", "_order")

    def __init__(self) -> None:
        self._order: list[tuple[int, float]] | None = None
        self.buckets: dict[str, float] = {}
        self.zero = 0.0
        self.count = 0.0
        self.total = 0.0
        self.low = float("inf")
        self.high = float("-inf")

    def add_text(self, text: str | None) -> None:
        """Add one stored sketch."""
        if not text:
            return
        data = json.loads(text)
        self._order = None
        buckets = self.buckets
        for key, count in data["b"].items():
            buckets[key] = buckets.get(key, 0) + count
        self.zero += data["z"]
        self.count += data["n"]
        self.total += data["s"]
        self.low = min(self.low, data["lo"])
        self.high = max(self.high, data["hi"])

    def quantile(self, q: float) -> float | None:
        """Return the q-quantile exactly as the merged ``DDSketch`` would.

        Walks the merged buckets in key order (as ``DDSketch``'s store does)
        without building the sketch: a chart asks for thousands of these.
        """
        if not self.count or not 0 <= q <= 1:
            return None
        rank = q * (self.count - 1)
        if rank < self.zero:
            return 0.0
        rank -= self.zero
        if self._order is None:
            self._order = sorted((int(k), c) for k, c in self.buckets.items())
        running = 0.0
        for key, count in self._order:
            running += count
            if running > rank:
                return float(_MAPPING.value(key))
        return float(_MAPPING.value(self._order[-1][0]))

    def sketch(self) -> DDSketch:
        """Return the merged sketch."""
        sketch = new_sketch()
        if not self.count:
            return sketch
        store = sketch._store
        for key, count in self.buckets.items():
            store.add(int(key), count)
        sketch._zero_count = self.zero
        sketch._count = self.count
        sketch._sum = self.total
        sketch._min = self.low
        sketch._max = self.high
        return sketch
