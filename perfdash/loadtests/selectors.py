"""Reads of stored runs and comparisons, for the commands and the dashboard.

The dashboard (admin) uses :func:`recent_runs`, :func:`run_detail` (with the
latency-over-time series), :func:`latest_comparison` (beside the design's
starting figures) and :func:`perfcheck_items` (the checklist).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Sum

from perfdash.loadtests.models import LoadTestRun, ModeComparison
from perfdash.models import RequestStatMinute

# The route template perfdash records for a chat turn.
CHAT_ROUTE = "api/<int:user_id>/chat"

# The figures the design started from (stateful vs stateless), shown beside
# every measured comparison.
DESIGN_FIGURES: dict[str, dict[str, float]] = {
    "stateless": {"avg_ms": 75.0, "statements_per_request": 2.3},
    "stateful": {"avg_ms": 50.0, "statements_per_request": 0.5},
}


@dataclass(frozen=True)
class RecordedRequests:
    requests: int
    statements: int

    @property
    def statements_per_request(self) -> float | None:
        """Return statements per request, or None without requests."""
        return self.statements / self.requests if self.requests else None


def recent_runs(*, limit: int = 20) -> list[LoadTestRun]:
    """Return the newest runs, newest first."""
    return list(LoadTestRun.objects.order_by("-started_at", "-id")[:limit])


def latest_run() -> LoadTestRun | None:
    """Return the newest run that is not part of a mode comparison."""
    return (
        LoadTestRun.objects.exclude(label__startswith="compare_modes")
        .order_by("-started_at", "-id")
        .first()
    )


def run_detail(*, run_id: int) -> dict[str, Any] | None:
    """Return a run with its per-interval series (for the over-time chart)."""
    run = LoadTestRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    series = list(
        run.intervals.order_by("offset_s").values(
            "offset_s",
            "in_ramp",
            "requests",
            "failures",
            "missed",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "server_cpu_pct",
            "server_rss_mb",
        )
    )
    return {"run": run, "series": series}


def latest_comparison(*, comparison_id: int | None = None) -> dict[str, Any] | None:
    """Return the newest (or one) comparison, each mode beside the design's."""
    comparisons = ModeComparison.objects.prefetch_related("results")
    if comparison_id is not None:
        comparisons = comparisons.filter(pk=comparison_id)
    comparison = comparisons.order_by("-created_at", "-id").first()
    if comparison is None:
        return None
    rows = []
    for result in comparison.results.all():
        design = DESIGN_FIGURES.get(result.mode, {})
        rows.append(
            {
                "mode": result.mode,
                "avg_ms": result.avg_ms,
                "p95_ms": result.p95_ms,
                "statements_per_request": result.statements_per_request,
                "process_bytes_per_session": result.process_bytes_per_session,
                "cache_bytes_per_session": result.cache_bytes_per_session,
                "sessions_in_budget": result.sessions_in_budget,
                "design_avg_ms": design.get("avg_ms"),
                "design_statements_per_request": design.get("statements_per_request"),
                "run_id": result.run_id,
            }
        )
    return {"comparison": comparison, "rows": rows}


def recorded_chat_requests(
    *, host: str, pids: list[int], since: datetime
) -> RecordedRequests:
    """Return the chat turns perfdash stored for these processes since then."""
    totals = RequestStatMinute.objects.filter(
        host=host,
        pid__in=pids,
        route=CHAT_ROUTE,
        method="POST",
        bucket__gte=since.replace(second=0, microsecond=0),
    ).aggregate(requests=Sum("requests"), statements=Sum("db_statements"))
    return RecordedRequests(
        requests=int(totals["requests"] or 0),
        statements=int(totals["statements"] or 0),
    )


def perfcheck_items() -> list[Any]:
    """Return the pre-deployment checklist, judged now (see perfcheck)."""
    from perfdash.loadtests.checklist import run_checklist

    return run_checklist()
