"""DDSketch percentiles are within 1% and merge exactly across shards."""

import random

import pytest

from perfdash import sketches

N = 100_000
QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99, 0.999)


@pytest.fixture(scope="module")
def latencies() -> list[float]:
    rng = random.Random(20261203)
    # Seconds: median ~20 ms with a long right tail, like request latencies.
    return [rng.lognormvariate(-3.9, 0.9) for _ in range(N)]


def _exact(values: list[float], q: float) -> float:
    # The same rank rule as DDSketch: the value at rank q * (n - 1).
    return sorted(values)[int(q * (len(values) - 1))]


def test_percentiles_are_within_one_percent_of_exact(latencies):
    sketch = sketches.new_sketch(latencies)

    for q in QUANTILES:
        exact = _exact(latencies, q)
        estimate = sketches.quantile(sketch, q)
        assert estimate == pytest.approx(exact, rel=0.01), q


def test_merging_eight_shards_equals_the_sketch_of_the_union(latencies):
    union = sketches.new_sketch(latencies)
    shards = [sketches.new_sketch(latencies[i::8]) for i in range(8)]

    merged = sketches.merge_all(shards)

    assert sketches.bins(merged) == sketches.bins(union)
    assert merged.count == union.count == N
    for q in QUANTILES:
        assert sketches.quantile(merged, q) == sketches.quantile(union, q)


def test_stored_form_merges_exactly_too(latencies):
    union = sketches.new_sketch(latencies)
    stored = [sketches.dumps(sketches.new_sketch(latencies[i::8])) for i in range(8)]

    merger = sketches.SketchMerger()
    for text in stored:
        merger.add_text(text)

    for merged in (sketches.merge_texts(stored), merger.sketch()):
        assert sketches.bins(merged) == sketches.bins(union)
        assert merged.count == N
        assert merged.sum == pytest.approx(union.sum)
        for q in QUANTILES:
            assert sketches.quantile(merged, q) == sketches.quantile(union, q)


def test_round_trip_keeps_zero_min_and_max():
    sketch = sketches.new_sketch([0.0, 0.0, 0.004, 1.5])

    loaded = sketches.loads(sketches.dumps(sketch))

    assert sketches.dumps(loaded) == sketches.dumps(sketch)
    assert loaded.count == 4
    assert sketches.quantile(loaded, 0.0) == 0.0
    assert sketches.quantile(loaded, 1.0) == pytest.approx(1.5, rel=0.01)


def test_empty_sketch_has_no_quantile_and_stores_as_nothing():
    empty = sketches.new_sketch()

    assert sketches.quantile(empty, 0.95) is None
    assert sketches.dumps(empty) == ""
    assert sketches.loads("").count == 0


def test_cumulative_counts_follow_bucket_bounds():
    sketch = sketches.new_sketch([0.001] * 3 + [0.01] * 2 + [1.0])

    assert sketches.cumulative_counts(sketch, [0.005, 0.05, 10.0]) == [3, 5, 6]


def test_merging_into_stored_text_equals_merging_sketches(latencies):
    first, second = latencies[:500], latencies[500:1200]

    text = sketches.merge_into_text(
        sketches.dumps(sketches.new_sketch(first)), sketches.new_sketch(second)
    )

    union = sketches.new_sketch(first + second)
    assert sketches.bins(sketches.loads(text)) == sketches.bins(union)
    assert sketches.loads(text).count == 1200


def test_add_many_fills_the_same_buckets_as_add(latencies):
    one_by_one = sketches.new_sketch(latencies[:5000] + [0.0, 0.0])
    batched = sketches.new_sketch()

    sketches.add_many(batched, latencies[:2000])
    sketches.add_many(batched, latencies[2000:5000] + [0.0, 0.0])

    assert sketches.bins(batched) == sketches.bins(one_by_one)
    assert batched.count == one_by_one.count == 5002
    assert batched._zero_count == 2
    assert (batched._min, batched._max) == (one_by_one._min, one_by_one._max)
    assert batched.sum == pytest.approx(one_by_one.sum)  # summed in another order
