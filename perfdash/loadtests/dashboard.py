"""The load-test section of the perfdash dashboard.

Shows the recent runs, the latest run's latency over time (ramp marked),
the latest stateless-vs-stateful comparison beside the design's figures and
the pre-deployment checklist. Registered only when the dashboard is
installed; the data comes from :mod:`perfdash.loadtests.selectors`.
"""

from datetime import timedelta
from typing import Any

from perfdash.loadtests import selectors
from perfdash.loadtests.scenario import DESIGN_P95_TARGET_MS


def _latency_chart(detail: dict[str, Any]) -> Any:
    from perfdash.dashboard.charts import line_chart

    run, series = detail["run"], detail["series"]
    times = [run.started_at + timedelta(seconds=row["offset_s"]) for row in series]
    step = (
        timedelta(seconds=series[1]["offset_s"] - series[0]["offset_s"])
        if len(series) > 1
        else timedelta(seconds=5)
    )
    return line_chart(
        key=f"loadtest-{run.pk}",
        title=f"Load test {run.pk}: latency over time",
        times=times,
        series={f"p{p}": [row[f"p{p}_ms"] for row in series] for p in (50, 95, 99)},
        step=step,
        unit=" ms",
        target=DESIGN_P95_TARGET_MS,
    )


def section_context(time_range: Any) -> dict[str, Any]:
    """Return runs, the latest run's chart, the comparison and the checklist.

    Load tests are few and deliberate, so the newest ones are shown whatever
    the dashboard's range.
    """
    runs = selectors.recent_runs(limit=10)
    latest = selectors.latest_run() or (runs[0] if runs else None)
    detail = selectors.run_detail(run_id=latest.pk) if latest else None
    series = detail["series"] if detail else []
    ramp_intervals = sum(1 for row in series if row["in_ramp"])
    return {
        "runs": runs,
        "latest": latest,
        "chart": _latency_chart(detail) if detail and series else None,
        "ramp_intervals": ramp_intervals,
        "comparison": selectors.latest_comparison(),
        "checklist": selectors.perfcheck_items(),
        "p95_target_ms": DESIGN_P95_TARGET_MS,
    }


def register_section() -> None:
    """Add the load-test section to the dashboard when it is installed."""
    try:
        from perfdash.dashboard import sections
    except ImportError:
        return  # no dashboard in this installation: nothing to fill
    sections.register(
        sections.Section(
            slot="loadtests",
            title="Load tests and the deployment checklist",
            template="loadtests/dashboard_section.html",
            context=section_context,
        )
    )
