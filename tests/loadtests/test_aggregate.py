"""Run figures: the ramp stays out of the percentiles, misses are counted."""

from perfdash.loadtests.aggregate import RunAggregate


def _aggregate() -> RunAggregate:
    return RunAggregate(started=1000.0, ramp_up=10.0, duration=20.0, interval=5.0)


def test_ramp_is_left_out_of_the_figures_but_kept_in_the_series() -> None:
    run = _aggregate()

    # Slow requests during the ramp, fast ones in the steady window.
    run.add_samples([(1001.0 + i * 0.01, 900.0, 1, "chat", -1, "") for i in range(50)])
    run.add_samples([(1011.0 + i * 0.1, 10.0, 1, "chat", -1, "") for i in range(100)])
    summary = run.summary((50, 95, 99))

    assert summary["requests"] == 100
    assert 9.8 <= summary["percentiles_ms"]["99"] <= 10.2
    assert summary["max_ms"] == 10.0
    assert summary["achieved_rps"] == 5.0
    series = run.series()
    assert series[0]["in_ramp"] and series[0]["requests"] == 50
    assert 890 <= series[0]["p95_ms"] <= 910
    assert not series[-1]["in_ramp"]


def test_failures_errors_and_foreign_messages_are_counted() -> None:
    run = _aggregate()

    run.add_samples(
        [
            (1012.0, 5.0, 1, "chat", 0, ""),
            (1012.5, 5.0, 0, "chat", -1, "status 503"),
            (1013.0, 5.0, 0, "history", 2, "foreign messages"),
            (1013.5, 5.0, 0, "chat", -1, "status 503"),
        ]
    )
    summary = run.summary((95,))

    assert summary["failures"] == 3 and summary["all_requests"] == 4
    assert summary["error_rate_pct"] == 75.0
    assert summary["history_reads"] == 1
    assert summary["isolation_checked"] == 2 and summary["foreign_messages"] == 2
    assert summary["errors"] == {"status 503": 2, "foreign messages": 1}


def test_missed_slots_count_in_the_window_they_belong_to() -> None:
    run = _aggregate()

    run.add_missed([1005.0, 1015.0, 1016.0, 1040.0])

    summary = run.summary((95,))
    assert summary["missed_slots"] == 2
    assert summary["missed_slots_total"] == 4
    assert run.series()[3]["missed"] == 2
