"""Scenario files: the design's default and what a bad file is told."""

from pathlib import Path

import pytest

from perfdash.loadtests.scenario import (
    DEFAULT_SCENARIO_FILE,
    Scenario,
    ScenarioError,
    load_scenarios,
    parse_scenarios,
)


def test_default_file_is_the_design_scenario() -> None:
    [scenario] = load_scenarios()

    assert DEFAULT_SCENARIO_FILE.name == "default.yaml"
    assert scenario.name == "chat_endpoint"
    assert (scenario.target_rps, scenario.duration) == (100, 300)
    assert (scenario.user_count, scenario.ramp_up) == (1000, 60)
    assert scenario.user_interval == 10
    limits = scenario.thresholds
    assert limits.percentiles == (50, 95, 99)
    assert limits.error_rate_pct == 1.0
    assert (limits.cpu_max_pct, limits.memory_max_pct) == (80.0, 80.0)
    # The design's P95 target applies when the file names no latency limit.
    assert limits.latency_max_ms == {95: 200.0}


def test_scenario_survives_the_trip_through_the_plan_file() -> None:
    [scenario] = load_scenarios()

    assert Scenario.from_dict(scenario.as_dict()) == scenario


def test_optional_keys_and_latency_limits_are_read() -> None:
    [scenario] = parse_scenarios(
        """
scenarios:
  isolation:
    target_rps: 25
    duration: 10
    user_count: 50
    ramp_up: 0
    history_every: 2
    isolation_check: true
metrics:
  error_rate_threshold: 0.5
  response_time_max_ms: {99: 400}
"""
    )

    assert scenario.history_every == 2 and scenario.isolation_check
    assert scenario.thresholds.error_rate_pct == 0.5
    assert scenario.thresholds.latency_max_ms == {99: 400.0}
    assert scenario.thresholds.percentiles == (50, 95, 99)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scenarios: [1, 2]", "needs a 'scenarios' mapping"),
        ("scenarios:\n  a: {duration: 5, user_count: 1, ramp_up: 0}",
         "missing target_rps"),
        ("scenarios:\n  a: {target_rps: -1, duration: 5, user_count: 1, ramp_up: 0}",
         "target_rps: must be > 0"),
        ("scenarios:\n  a: {target_rps: 1, duration: 5, user_count: 1, ramp_up: 0}\n"
         "metrics: {error_rate_threshold: lots}", "expected a percentage"),
        ("scenarios:\n  a: {target_rps: 1, duration: 5, user_count: 1, ramp_up: 0}\n"
         "metrics: {resource_utilization: {cpu_max: 180%}}", "outside 0-100%"),
        ("scenarios: {a: [", "not valid YAML"),
    ],
)  # fmt: skip
def test_bad_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenarios(text)


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenarios(tmp_path / "nope.yaml")
