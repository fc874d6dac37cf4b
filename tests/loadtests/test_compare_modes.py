"""``manage.py compare_modes`` with real servers and perfdash (acceptance 2)."""

import secrets

import pytest
from django.db.models import Sum

from perfdash.loadtests.models import LoadTestInterval, ModeComparison
from perfdash.loadtests.selectors import CHAT_ROUTE
from perfdash.loadtests.servers import server_environment
from perfdash.models import RequestStatMinute
from tests.loadtests.helpers import run_manage

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_compare_modes_prints_and_stores_the_perfdash_statement_counts(
    transactional_db: None,
) -> None:
    env = server_environment(SECRET_KEY=secrets.token_urlsafe(48))

    result = run_manage(
        env, "compare_modes", "--users", "10", "--rps", "10", "--duration", "4",
        "--ramp-up", "1", "--memory-budget-mb", "512",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "sessions in 512 MiB" in result.stdout
    for mode in ("stateless", "stateful"):
        assert any(line.startswith(mode) for line in result.stdout.splitlines())

    comparison = ModeComparison.objects.get()
    results = {r.mode: r for r in comparison.results.all()}
    assert set(results) == {"stateless", "stateful"}
    for mode, row in results.items():
        server = comparison.settings["servers"][mode]
        stored = RequestStatMinute.objects.filter(
            host=server["host"],
            pid__in=server["worker_pids"],
            route=CHAT_ROUTE,
            method="POST",
        ).aggregate(requests=Sum("requests"), statements=Sum("db_statements"))
        # The figures are perfdash's own counts for that server's processes...
        assert row.statements_per_request is not None
        assert row.requests_measured == stored["requests"]
        assert row.statements == stored["statements"]
        assert row.statements_per_request == pytest.approx(
            stored["statements"] / stored["requests"]
        )
        # ...and perfdash counted every turn the load generator had answered,
        # plus the warm-up turns.
        answered = LoadTestInterval.objects.filter(run=row.run).aggregate(
            n=Sum("requests") - Sum("failures")
        )["n"]
        assert stored["requests"] == answered + server["warmup_turns"]
        # A chat turn needs at least its claim and its write.
        assert row.statements_per_request >= 2
        assert row.active_sessions == 10
        assert row.avg_ms is not None and row.p95_ms is not None
    # Both keep per-user throttle counters in the cache; only the stateless
    # server keeps the context windows there too.
    stateless_cache = results["stateless"].cache_bytes_per_session
    stateful_cache = results["stateful"].cache_bytes_per_session
    assert stateless_cache is not None and stateful_cache is not None
    assert stateless_cache > stateful_cache
