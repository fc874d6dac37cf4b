"""The pre-deployment checklist: each item judged from real data with evidence.

An item is PASS or FAIL when there is data to judge it, and UNKNOWN when
there is none (no load test stored, no traffic measured in the window, a
check that does not apply to the database in use). ``manage.py perfcheck``
prints it and the dashboard shows it (``selectors.perfcheck_items``).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import QuerySet
from django.utils import timezone

from conversations.models import Conversation, Message
from perfdash import selectors as perfdash_selectors
from perfdash.loadtests.scenario import DESIGN_P95_TARGET_MS
from perfdash.loadtests.selectors import latest_run
from perfdash.selectors import Summary

PASS, FAIL, UNKNOWN = "PASS", "FAIL", "UNKNOWN"


@dataclass(frozen=True)
class CheckItem:
    name: str
    status: str
    evidence: str


def _limits() -> dict[str, Any]:
    return dict(settings.LOADTESTS)


def check_latest_load_test() -> CheckItem:
    """Judge the newest stored load test against its own thresholds."""
    name = "latest load test meets its targets"
    run = latest_run()
    if run is None:
        return CheckItem(name, UNKNOWN, "no load test stored; run manage.py loadtest")
    failed = [c["name"] for c in run.checks if c["passed"] is False]
    p95 = "-" if run.p95_ms is None else f"{run.p95_ms:.1f} ms"
    evidence = (
        f"run {run.pk} '{run.name}' at {run.started_at:%Y-%m-%d %H:%M}: p95 {p95} "
        f"(design target < {DESIGN_P95_TARGET_MS:g} ms), error rate "
        f"{run.error_rate_pct}%, {run.achieved_rps:g}/{run.target_rps:g} rps"
    )
    if failed:
        return CheckItem(name, FAIL, f"{evidence}; failed: {', '.join(failed)}")
    return CheckItem(name, PASS if run.passed else FAIL, evidence)


def check_migrations() -> CheckItem:
    """Judge whether every migration is applied to the database."""
    name = "migrations applied"
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        pending = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        return CheckItem(name, FAIL, f"{len(plan)} unapplied: {pending}")
    applied = len(executor.loader.applied_migrations)
    return CheckItem(name, PASS, f"all {applied} migrations applied")


# The statements the chat selectors run most: they mirror
# conversations.selectors.message_list / context_window and conversation_list,
# with placeholder ids (EXPLAIN needs no rows).
def _history_query() -> QuerySet[Message]:
    return Message.objects.filter(owner_id=1, conversation_id=1, seq__gt=0).order_by(
        "seq"
    )[:50]


def _list_query() -> QuerySet[Conversation]:
    return Conversation.objects.filter(owner_id=1).order_by("-updated_at", "-id")[:50]


def _explain(queryset: QuerySet[Any]) -> str:
    if connection.vendor == "sqlite":
        # sqlite3 caches prepared statements by text, and a cached EXPLAIN is
        # not re-planned after a schema change: make each text unique.
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"EXPLAIN QUERY PLAN {sql} /* perfcheck {secrets.token_hex(8)} */",
                params,
            )
            return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
    # With sequential scans and sorts priced out, the planner serves the
    # filter and the order from an index whenever one can: a small table
    # cannot hide a missing index behind a cheap scan or sort.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
        return queryset.explain()


def _index_item(name: str, queryset: QuerySet[Any], index: str) -> CheckItem:
    """Pass when an index serves both the filter and the order of the query."""
    if connection.vendor == "postgresql":
        extra = ("Seq Scan", "Sort")
    elif connection.vendor == "sqlite":
        extra = ("TEMP B-TREE", "SCAN ")
    else:
        return CheckItem(name, UNKNOWN, f"EXPLAIN not read on {connection.vendor}")
    plan = _explain(queryset)
    lines = [line.strip() for line in plan.splitlines() if line.strip()]
    uses_index = any("INDEX" in line.upper() for line in lines)
    detours = [line for line in lines if any(word in line for word in extra)]
    if uses_index and not detours:
        used = next(line for line in lines if "INDEX" in line.upper())
        return CheckItem(name, PASS, f"index serves filter and order ({index}): {used}")
    return CheckItem(
        name,
        FAIL,
        f"no index serves filter and order ({index} expected): "
        + " | ".join(lines[:4]),
    )


def check_history_index() -> CheckItem:
    """Judge whether history reads use the (conversation, seq) index."""
    return _index_item(
        "history query uses its index", _history_query(), "message_conversation_seq"
    )


def check_list_index() -> CheckItem:
    """Judge whether the conversation list uses the (owner, updated) index."""
    return _index_item("list query uses its index", _list_query(), "conv_owner_updated")


def check_cache_hit_ratio(figures: Summary) -> CheckItem:
    """Judge the cache hit ratio measured over the last hour."""
    minimum = float(_limits()["CACHE_HIT_RATIO_MIN"])
    name = f"cache hit ratio over the last hour > {minimum:.0%}"
    if figures.cache_hit_ratio is None:
        return CheckItem(name, UNKNOWN, "no cache reads measured in the last hour")
    evidence = (
        f"{figures.cache_hit_ratio:.1%} ({figures.cache_hits} hits, "
        f"{figures.cache_misses} misses)"
    )
    return CheckItem(
        name, PASS if figures.cache_hit_ratio > minimum else FAIL, evidence
    )


def check_memory(figures: Summary) -> CheckItem:
    """Judge the largest process memory sampled in the last hour."""
    limit_mb = float(_limits()["PROCESS_MEMORY_LIMIT_MB"])
    name = f"process memory within {limit_mb:g} MiB"
    if figures.rss_bytes_max is None:
        return CheckItem(name, UNKNOWN, "no process samples in the last hour")
    peak_mb = figures.rss_bytes_max / 2**20
    evidence = (
        f"largest process {peak_mb:.1f} MiB over {figures.process_samples} samples "
        f"(machine memory used by it: {figures.memory_percent or 0:.1f}% on average)"
    )
    return CheckItem(name, PASS if peak_mb <= limit_mb else FAIL, evidence)


def check_pool_fits() -> CheckItem:
    """Judge whether every process's full pool fits PostgreSQL's max_connections."""
    name = "pool size x processes fits max_connections"
    if connection.vendor != "postgresql":
        return CheckItem(name, UNKNOWN, f"not applicable on {connection.vendor}")
    pool = connection.settings_dict.get("OPTIONS", {}).get("pool")
    if not pool:
        return CheckItem(name, UNKNOWN, "no connection pool configured")
    max_size = int(pool.get("max_size", 0) if isinstance(pool, dict) else 0)
    limits = _limits()
    processes = int(limits["WEB_PROCESSES"]) + int(limits["WORKER_PROCESSES"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int, "
            "current_setting('superuser_reserved_connections')::int"
        )
        max_connections, reserved = cursor.fetchone()
    needed, available = max_size * processes, max_connections - reserved
    evidence = (
        f"{max_size} per pool x {processes} processes = {needed}; server allows "
        f"{available} ({max_connections} max_connections - {reserved} reserved)"
    )
    return CheckItem(name, PASS if needed <= available else FAIL, evidence)


def check_error_rate(figures: Summary) -> CheckItem:
    """Judge the share of 5xx answers over the last hour."""
    maximum = float(_limits()["ERROR_RATE_MAX"])
    name = f"error rate over the last hour < {maximum:.0%}"
    if figures.error_rate is None:
        return CheckItem(name, UNKNOWN, "no requests measured in the last hour")
    evidence = f"{figures.error_rate:.2%} ({figures.errors} of {figures.requests})"
    return CheckItem(name, PASS if figures.error_rate < maximum else FAIL, evidence)


def run_checklist(*, now: datetime | None = None) -> list[CheckItem]:
    """Judge every item of the checklist, in order."""
    moment = now or timezone.now()
    # The items judge counts and resources only: reading no sketch keeps the
    # dashboard, which shows this checklist on every load, cheap.
    last_hour = perfdash_selectors.summary(
        start=moment - timedelta(hours=1), end=moment, sketch_fields=()
    )
    return [
        check_latest_load_test(),
        check_migrations(),
        check_history_index(),
        check_list_index(),
        check_cache_hit_ratio(last_hour),
        check_memory(last_hour),
        check_pool_fits(),
        check_error_rate(last_hour),
    ]
