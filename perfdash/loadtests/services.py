"""Store load-test runs and mode comparisons."""

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from perfdash.loadtests.models import (
    LoadTestInterval,
    LoadTestRun,
    ModeComparison,
    ModeResult,
)
from perfdash.loadtests.resources import ResourceSample
from perfdash.loadtests.scenario import Scenario

logger = logging.getLogger(__name__)


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _interval_resources(
    samples: list[ResourceSample], start: float, length: float
) -> tuple[float | None, float | None]:
    window = [s for s in samples if start <= s.at < start + length]
    if not window:
        return None, None
    cpu = sum(s.server_cpu_pct for s in window) / len(window)
    rss = max(s.server_rss for s in window) / 2**20
    return round(cpu, 2), round(rss, 1)


@transaction.atomic
def record_run(
    *,
    scenario: Scenario,
    target_url: str,
    result: dict[str, Any],
    resources: dict[str, Any],
    resource_samples: list[ResourceSample],
    checks: list[dict[str, Any]],
    interval_seconds: float,
    label: str = "",
) -> LoadTestRun:
    """Store a finished run with its series; passed means no check failed."""
    summary = result["summary"]
    percentiles = summary.get("percentiles_ms", {})
    passed = all(check["passed"] is not False for check in checks)
    run = LoadTestRun.objects.create(
        name=scenario.name,
        target_url=target_url,
        scenario=scenario.as_dict(),
        started_at=_when(result["started"]),
        finished_at=_when(result["finished"]),
        label=label,
        target_rps=scenario.target_rps,
        achieved_rps=summary["achieved_rps"],
        requests=summary["requests"],
        failures=summary["failures"],
        missed_slots=summary["missed_slots"],
        error_rate_pct=summary["error_rate_pct"],
        avg_ms=summary["avg_ms"],
        p50_ms=percentiles.get("50"),
        p95_ms=percentiles.get("95"),
        p99_ms=percentiles.get("99"),
        max_ms=summary["max_ms"],
        figures={**summary, "resources": resources},
        checks=checks,
        passed=passed,
    )
    rows = []
    for row in result["series"]:
        cpu, rss = _interval_resources(
            resource_samples, result["started"] + row["offset_s"], interval_seconds
        )
        rows.append(
            LoadTestInterval(run=run, server_cpu_pct=cpu, server_rss_mb=rss, **row)
        )
    LoadTestInterval.objects.bulk_create(rows)
    logger.info("Stored load-test run %s (%s)", run.pk, "pass" if passed else "fail")
    return run


@transaction.atomic
def record_comparison(
    *,
    memory_budget_mb: float,
    settings: dict[str, Any],
    results: list[dict[str, Any]],
) -> ModeComparison:
    """Store a comparison and one row per history mode."""
    comparison = ModeComparison.objects.create(
        memory_budget_mb=memory_budget_mb, settings=settings
    )
    ModeResult.objects.bulk_create(
        [ModeResult(comparison=comparison, **result) for result in results]
    )
    logger.info("Stored mode comparison %s", comparison.pk)
    return comparison
