"""The load-test section of the admin dashboard (needs perfdash.dashboard)."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from perfdash.loadtests.models import (
    LoadTestInterval,
    LoadTestRun,
    ModeComparison,
    ModeResult,
)

pytest.importorskip(
    "perfdash.dashboard.sections", reason="the dashboard is a separate part"
)


def _stored_run() -> LoadTestRun:
    now = timezone.now()
    run = LoadTestRun.objects.create(
        name="chat_endpoint", target_url="http://127.0.0.1:8000", scenario={},
        started_at=now - timedelta(minutes=6), finished_at=now, target_rps=100,
        achieved_rps=99.5, requests=29_850, failures=3, missed_slots=12,
        error_rate_pct=0.01, avg_ms=21, p50_ms=15, p95_ms=123.4, p99_ms=180,
        max_ms=300, checks=[], passed=True,
    )  # fmt: skip
    LoadTestInterval.objects.bulk_create(
        LoadTestInterval(
            run=run,
            offset_s=5.0 * i,
            in_ramp=i < 2,
            requests=500,
            failures=0,
            missed=0,
            p50_ms=15,
            p95_ms=100 + i,
            p99_ms=150,
        )  # fmt: skip
        for i in range(6)
    )
    return run


@pytest.mark.django_db
def test_staff_sees_runs_chart_comparison_and_checklist(make_user: Any) -> None:
    run = _stored_run()
    comparison = ModeComparison.objects.create(memory_budget_mb=1024)
    ModeResult.objects.create(
        comparison=comparison, mode="stateless", run=run, avg_ms=21.5, p95_ms=40,
        requests_measured=1000, statements=3000, statements_per_request=3.0,
        active_sessions=200, process_bytes_per_session=2048,
        cache_bytes_per_session=4096, sessions_in_budget=174762,
    )  # fmt: skip
    client = Client()
    client.force_login(make_user("staff", is_staff=True, is_superuser=True))

    page = client.get("/admin/performance/").content.decode()

    assert 'id="section-loadtests"' in page
    assert 'id="loadtests-runs"' in page and "123.4" in page
    assert f'id="chart-loadtest-{run.pk}"' in page and "<svg" in page
    assert 'id="loadtests-comparison"' in page and "3.00 (2.3)" in page
    assert 'id="loadtests-checklist"' in page
    assert "migrations applied" in page and "PASS" in page
