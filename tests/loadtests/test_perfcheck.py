"""``manage.py perfcheck``: every item judged from data, each made to fail."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from perfdash.loadtests.checklist import FAIL, PASS, UNKNOWN, run_checklist
from perfdash.loadtests.models import LoadTestRun
from perfdash.services import record_process_sample, record_request_stats

ROUTE = "api/<int:user_id>/chat"


def _store_run(*, passed: bool = True, p95: float = 40.0) -> LoadTestRun:
    now = timezone.now()
    checks = [
        {"name": "p95_ms", "value": p95, "limit": 200, "rule": "<= 200 ms",
         "passed": p95 <= 200},
        {"name": "error_rate_pct", "value": 0.0, "limit": 1, "rule": "<= 1%",
         "passed": passed},
    ]  # fmt: skip
    return LoadTestRun.objects.create(
        name="chat_endpoint", target_url="http://127.0.0.1:8000", scenario={},
        started_at=now - timedelta(minutes=6), finished_at=now, target_rps=100,
        achieved_rps=99.5, requests=29_850, failures=0, missed_slots=0,
        error_rate_pct=0.0, avg_ms=20, p50_ms=15, p95_ms=p95, p99_ms=p95 * 1.5,
        max_ms=300, checks=checks, passed=passed and p95 <= 200,
    )  # fmt: skip


def _traffic(*, hits: int = 90, misses: int = 10, errors: int = 0) -> None:
    now = timezone.now()
    record_request_stats(
        minute=now, route=ROUTE, method="POST", total_ms=[20.0] * 100,
        cache_hits=hits, cache_misses=misses,
    )  # fmt: skip
    if errors:
        record_request_stats(
            minute=now, route=ROUTE, method="POST", status=500, total_ms=[5.0] * errors
        )
    record_process_sample(
        host="web-1", pid=100, cpu_percent=20.0, rss_bytes=200 * 2**20,
        memory_percent=1.0,
    )  # fmt: skip


@pytest.fixture
def healthy(db: None) -> None:
    _store_run()
    _traffic()


def _status(name_start: str) -> tuple[str, str]:
    for item in run_checklist():
        if item.name.startswith(name_start):
            return item.status, item.evidence
    raise AssertionError(f"no item {name_start!r}")


@pytest.mark.services
def test_every_item_passes_with_evidence_on_healthy_data(
    healthy: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("perfcheck")

    out = capsys.readouterr().out
    items = run_checklist()
    assert [i.status for i in items] == [PASS] * 8, items
    for item in items:
        assert item.name in out and item.evidence in out
    assert "p95 40.0 ms" in _status("latest load test")[1]
    assert "90.0% (90 hits, 10 misses)" in _status("cache hit ratio")[1]


def test_no_data_is_unknown_not_pass(db: None) -> None:
    statuses = {item.name: item.status for item in run_checklist()}

    assert statuses["latest load test meets its targets"] == UNKNOWN
    assert [s for n, s in statuses.items() if n.startswith("cache hit")] == [UNKNOWN]
    assert [s for n, s in statuses.items() if n.startswith("error rate")] == [UNKNOWN]


@pytest.mark.services
def test_failed_load_test_fails_and_exits_non_zero(db: None) -> None:
    _traffic()
    _store_run(p95=450.0)

    status, evidence = _status("latest load test")
    with pytest.raises(CommandError, match="latest load test"):
        call_command("perfcheck")

    assert status == FAIL and "p95 450.0 ms" in evidence and "p95_ms" in evidence


@pytest.mark.services
@pytest.mark.parametrize(
    ("item", "drop"),
    [
        ("history query", "ALTER TABLE conversations_message "
         "DROP CONSTRAINT message_conversation_seq"),
        ("list query", "DROP INDEX conv_owner_updated"),
    ],
)  # fmt: skip
def test_dropped_index_fails(healthy: None, item: str, drop: str) -> None:
    assert _status(item)[0] == PASS

    # DDL is transactional on PostgreSQL: the test's transaction restores it.
    with connection.cursor() as cursor:
        cursor.execute(drop)
    status, evidence = _status(item)

    assert status == FAIL
    assert "Sort" in evidence or "Seq Scan" in evidence


@pytest.mark.services
def test_low_cache_hit_ratio_fails(db: None) -> None:
    _store_run()
    _traffic(hits=30, misses=70)

    status, evidence = _status("cache hit ratio")

    assert status == FAIL and "30.0%" in evidence


@pytest.mark.services
def test_oversized_pool_fails(healthy: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _status("pool size")[0] == PASS

    monkeypatch.setitem(connection.settings_dict["OPTIONS"]["pool"], "max_size", 5000)
    status, evidence = _status("pool size")

    assert status == FAIL and "5000 per pool" in evidence


@pytest.mark.services
def test_error_rate_above_threshold_fails(db: None) -> None:
    _store_run()
    _traffic(errors=5)

    status, evidence = _status("error rate")

    assert status == FAIL and "(5 of 105)" in evidence


@pytest.mark.services
def test_memory_above_limit_fails(healthy: None, settings: Any) -> None:
    settings.LOADTESTS = {**settings.LOADTESTS, "PROCESS_MEMORY_LIMIT_MB": 100.0}

    status, evidence = _status("process memory")

    assert status == FAIL and "200.0 MiB" in evidence


def test_unapplied_migration_fails(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations "
            "WHERE app = 'loadtests' AND name = '0001_initial'"
        )

    status, evidence = _status("migrations")

    assert status == FAIL and "loadtests.0001_initial" in evidence


@pytest.mark.sqlite
def test_index_check_reads_the_plan_on_sqlite_too(db: None) -> None:
    assert _status("history query")[0] == PASS
    assert _status("list query")[0] == PASS


@pytest.mark.sqlite
def test_dropped_index_fails_on_sqlite(db: None) -> None:
    assert _status("list query")[0] == PASS

    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX conv_owner_updated")

    status, evidence = _status("list query")

    assert status == FAIL and "TEMP B-TREE" in evidence
