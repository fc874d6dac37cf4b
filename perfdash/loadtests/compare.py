"""Run the same load against a stateless and a stateful server and compare.

Each mode gets its own gunicorn server (one process, so the stateful mode's
in-memory windows are valid: every turn reaches the process that holds
them) with a fresh cache namespace. Latency comes from the load generator;
SQL statements per request from the rows perfdash stored for that server's
worker processes; memory per active session from the server's resident
memory grown during the run (and, for the cache, the bytes Redis holds under
the server's key prefix), divided by the conversations the run started.
"""

import logging
import secrets
import socket
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import psutil
import redis
from django.conf import settings

from conversations.models import Conversation
from perfdash.loadtests import selectors
from perfdash.loadtests.isolation import marker_for
from perfdash.loadtests.resources import memory_of
from perfdash.loadtests.runner import RunOutcome, Writer, run_scenario
from perfdash.loadtests.scenario import Scenario
from perfdash.loadtests.servers import Server, server_environment, start_server
from perfdash.loadtests.tokens import ensure_load_users, mint_tokens_locally

MODES = ("stateless", "stateful")
WARMUP_TURNS = 10


def cache_bytes(prefix: str) -> int | None:
    """Return the bytes Redis uses for keys under a prefix, None without Redis."""
    if not settings.REDIS_URL:
        return None
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if not keys:
        return 0
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key)
    return sum(int(size or 0) for size in pipe.execute())


def warm_up(server: Server, user_id: int, token: str) -> None:
    # Imports and first-use allocations happen here, before the baseline.
    headers = {"Authorization": f"Bearer {token}"}
    conversation = None
    # httpx logs every request at INFO; ten warm-up lines say nothing.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        for turn in range(WARMUP_TURNS):
            body: dict[str, Any] = {"message": f"{marker_for(user_id)} warm-up {turn}"}
            if conversation is not None:
                body["conversation_id"] = conversation
            response = client.post(f"/api/{user_id}/chat", json=body)
            response.raise_for_status()
            conversation = response.json()["conversation_id"]


def _pin(pid: int, cpus: list[int] | None) -> None:
    if cpus:
        psutil.Process(pid).cpu_affinity(cpus)


def measure_mode(
    *,
    mode: str,
    scenario: Scenario,
    threads: int,
    out: Writer,
    memory_budget_mb: float,
    server_cpus: list[int] | None = None,
    generator_cpus: list[int] | None = None,
) -> tuple[dict[str, Any], RunOutcome, dict[str, Any]]:
    """Measure one history mode; return the result row, run and server facts."""
    prefix = f"{settings.CACHE_KEY_PREFIX}:cmp-{mode}-{secrets.token_hex(4)}"
    flush_seconds = 1.0
    env = server_environment(
        CHAT_HISTORY_MODE=mode,
        CACHE_KEY_PREFIX=prefix,
        PERFDASH_ENABLED="True",
        PERFDASH_FLUSH_SECONDS=str(flush_seconds),
    )
    user_ids = ensure_load_users(count=scenario.user_count + 1)
    tokens = mint_tokens_locally(
        user_ids=user_ids, lifetime_seconds=scenario.ramp_up + scenario.duration + 600
    )
    warmup, load_tokens = tokens[-1], tokens[:-1]
    started_at = datetime.now(UTC)

    with start_server(threads=threads, env=env) as server:
        _pin(server.pid, server_cpus)
        workers = [p.pid for p in psutil.Process(server.pid).children(recursive=True)]
        for pid in workers:
            _pin(pid, server_cpus)
        warm_up(server, *warmup)
        rss_before = memory_of([server.pid])
        out.write(f"{mode}: server pid {server.pid} (workers {workers}), load...\n")
        outcome = run_scenario(
            scenario=scenario,
            url=server.url,
            tokens=load_tokens,
            server_pids=[server.pid],
            out=out,
            generator_cpus=generator_cpus,
        )
        # Let perfdash's background flush write the last requests.
        time.sleep(flush_seconds * 2 + 0.5)
        rss_after = memory_of([server.pid])
        cache_used = cache_bytes(prefix)

    sessions = Conversation.objects.filter(
        owner_id__in=[user_id for user_id, _ in load_tokens],
        created_at__gte=started_at,
    ).count()
    recorded = selectors.recorded_chat_requests(
        host=socket.gethostname()[:128], pids=workers, since=started_at
    )
    process_per_session = (rss_after - rss_before) / sessions if sessions else None
    cache_per_session = (
        cache_used / sessions if sessions and cache_used is not None else None
    )
    per_session = max(0.0, process_per_session or 0.0) + (cache_per_session or 0.0)
    summary = outcome.result["summary"]
    row = {
        "mode": mode,
        "avg_ms": summary["avg_ms"],
        "p95_ms": summary["percentiles_ms"].get("95"),
        "requests_measured": recorded.requests,
        "statements": recorded.statements,
        "statements_per_request": recorded.statements_per_request,
        "active_sessions": sessions,
        "process_bytes_per_session": process_per_session,
        "cache_bytes_per_session": cache_per_session,
        "sessions_in_budget": int(memory_budget_mb * 2**20 / per_session)
        if per_session > 0
        else None,
    }
    facts = {
        "host": socket.gethostname()[:128],
        "server_pid": server.pid,
        "worker_pids": workers,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "cache_bytes": cache_used,
        "cache_prefix": prefix,
        "warmup_turns": WARMUP_TURNS,
        "started_at": started_at.isoformat(),
    }
    return row, outcome, facts
