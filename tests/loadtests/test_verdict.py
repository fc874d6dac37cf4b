"""Thresholds: each one can fail the run; unmeasured resources are not judged."""

from typing import Any

from perfdash.loadtests.isolation import count_foreign, marker_for
from perfdash.loadtests.scenario import load_scenarios
from perfdash.loadtests.verdict import judge_run

GOOD: dict[str, Any] = {
    "achieved_rps": 99.0,
    "error_rate_pct": 0.2,
    "percentiles_ms": {"50": 20.0, "95": 150.0, "99": 400.0},
    "foreign_messages": 0,
}
RESOURCES = {"server_cpu_avg_pct": 60.0, "server_memory_max_pct": 5.0}


def _failed(
    summary: dict[str, Any], resources: dict[str, Any] = RESOURCES
) -> list[str]:
    [scenario] = load_scenarios()
    checks = judge_run(scenario, summary, resources)
    return [c["name"] for c in checks if c["passed"] is False]


def test_a_run_within_every_threshold_passes() -> None:
    assert _failed(GOOD) == []


def test_each_threshold_fails_on_its_own() -> None:
    assert _failed({**GOOD, "achieved_rps": 94.9}) == ["arrival_rate_rps"]
    assert _failed({**GOOD, "error_rate_pct": 1.5}) == ["error_rate_pct"]
    assert _failed({**GOOD, "percentiles_ms": {"95": 201.0}}) == ["p95_ms"]
    assert _failed(GOOD, {**RESOURCES, "server_cpu_avg_pct": 85.0}) == [
        "server_cpu_avg_pct"
    ]


def test_a_run_without_answers_fails() -> None:
    empty: dict[str, Any] = {
        "achieved_rps": 0.0,
        "error_rate_pct": None,
        "percentiles_ms": {},
    }

    assert _failed(empty) == ["arrival_rate_rps", "error_rate_pct", "p95_ms"]


def test_resources_of_a_remote_server_are_left_unjudged() -> None:
    [scenario] = load_scenarios()

    checks = {c["name"]: c["passed"] for c in judge_run(scenario, GOOD, {})}

    assert checks["server_cpu_avg_pct"] is None
    assert checks["server_memory_max_pct"] is None


def test_foreign_tags_are_found_and_own_ones_are_not() -> None:
    others = f"{marker_for(70)} {marker_for(8)}"
    text = f'{{"content": "{marker_for(7)} hi", "other": "{others}"}}'

    assert count_foreign(text, 7) == 2
    assert count_foreign(f"{marker_for(7)} and {marker_for(7)}", 7) == 0
