"""Judge a run's measured figures against its scenario's thresholds."""

from typing import Any

from perfdash.loadtests.scenario import Scenario


def _check(
    name: str,
    value: float | None,
    limit: float,
    *,
    at_most: bool = True,
    unit: str = "",
    required: bool = True,
) -> dict[str, Any]:
    # A figure the run had to produce fails when missing; one that could not
    # be measured (resources of a remote server) is left unjudged (None).
    passed: bool | None
    if value is None:
        passed = False if required else None
    else:
        passed = value <= limit if at_most else value >= limit
    return {
        "name": name,
        "value": value,
        "limit": limit,
        "rule": f"{'<=' if at_most else '>='} {limit:g}{unit}",
        "passed": passed,
    }


def judge_run(
    scenario: Scenario, summary: dict[str, Any], resources: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return one check per threshold; a missing measurement fails its check."""
    limits = scenario.thresholds
    checks = [
        _check(
            "arrival_rate_rps",
            summary.get("achieved_rps"),
            round(scenario.target_rps * limits.min_rate_fraction, 2),
            at_most=False,
            unit=" rps",
        ),
        _check(
            "error_rate_pct",
            summary.get("error_rate_pct"),
            limits.error_rate_pct,
            unit="%",
        ),
    ]
    for percentile, most in sorted(limits.latency_max_ms.items()):
        value = summary.get("percentiles_ms", {}).get(str(percentile))
        checks.append(_check(f"p{percentile}_ms", value, most, unit=" ms"))
    for name, limit in (
        ("server_cpu_avg_pct", limits.cpu_max_pct),
        ("server_memory_max_pct", limits.memory_max_pct),
    ):
        checks.append(
            _check(name, resources.get(name), limit, unit="%", required=False)
        )
    if scenario.isolation_check:
        checks.append(_check("foreign_messages", summary.get("foreign_messages"), 0))
    return checks
