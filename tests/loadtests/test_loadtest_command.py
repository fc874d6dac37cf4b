"""``manage.py loadtest`` against a real gunicorn server (acceptance 1 and 4)."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from conversations.models import Message
from perfdash.loadtests.isolation import marker_for
from perfdash.loadtests.models import LoadTestRun
from perfdash.loadtests.servers import Server, start_server
from tests.fakes.openai_server import FakeOpenAI
from tests.loadtests.helpers import run_manage, write_scenario

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_short_scenario_passes_and_stores_its_run(
    server: Server, server_env: dict[str, str], tmp_path: Path
) -> None:
    config = write_scenario(
        tmp_path / "short.yaml",
        target_rps=20,
        duration=10,
        user_count=20,
        ramp_up=2,
        metrics={"error_rate_threshold": "1%"},
    )

    result = run_manage(
        server_env,
        "loadtest",
        "--config",
        str(config),
        "--url",
        server.url,
        "--interval",
        "2",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout
    assert "p95" in result.stdout and "server CPU" in result.stdout
    run = LoadTestRun.objects.get()
    assert run.passed and run.target_rps == 20
    # 20 rps for 10 s, each slot sent on time or counted as missed.
    assert run.requests + run.missed_slots >= 190
    assert run.achieved_rps >= 19
    assert run.p50_ms is not None and run.p95_ms is not None and run.p99_ms
    assert run.p50_ms <= run.p95_ms <= run.p99_ms
    assert run.figures["resources"]["server_cpu_avg_pct"] is not None
    assert "generator_cpu_avg_pct" in run.figures["resources"]
    intervals = list(run.intervals.all())
    assert intervals[0].in_ramp and not intervals[-1].in_ramp
    # What the server stored is what the load generator counted as answered:
    # two messages per successful chat turn, ramp included.
    answered = sum(i.requests - i.failures for i in intervals)
    assert Message.objects.count() == 2 * answered


def test_threshold_below_what_the_server_can_do_exits_non_zero(
    server: Server, server_env: dict[str, str], tmp_path: Path
) -> None:
    config = write_scenario(
        tmp_path / "strict.yaml",
        target_rps=10,
        duration=4,
        user_count=10,
        ramp_up=1,
        metrics={"response_time_max_ms": {95: 0.01}},
    )

    result = run_manage(
        server_env, "loadtest", "--config", str(config), "--url", server.url
    )

    assert result.returncode != 0
    assert "thresholds failed: short: p95_ms" in result.stderr
    run = LoadTestRun.objects.get()
    assert not run.passed
    assert [c["name"] for c in run.checks if c["passed"] is False] == ["p95_ms"]


def test_isolation_under_load_sees_no_foreign_message(
    server: Server, server_env: dict[str, str], tmp_path: Path
) -> None:
    users = 50
    config = write_scenario(
        tmp_path / "isolation.yaml",
        target_rps=25,
        duration=8,
        user_count=users,
        ramp_up=2,
        history_every=1,
        isolation_check=True,
        turns_per_conversation=3,
        # Judged on isolation alone: on a machine busy with other work the
        # rate and latency checks would fail for reasons this test is not about.
        metrics={
            "min_rate_fraction": 0,
            "response_time_max_ms": {95: 60_000},
            "resource_utilization": {"cpu_max": "100%", "memory_max": "100%"},
        },
    )

    # Two Locust worker processes under a master: each speaks for its own
    # share of the users.
    result = run_manage(
        server_env, "loadtest", "--config", str(config), "--url", server.url,
        "--processes", "2",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    run = LoadTestRun.objects.get()
    assert run.figures["foreign_messages"] == 0
    # Every chat response and every history read was checked, from all users
    # at once.
    assert run.figures["isolation_checked"] >= 2 * run.requests
    assert run.figures["history_reads"] > 0
    senders = set(Message.objects.values_list("owner_id", flat=True))
    assert len(senders) == users
    # And on the server's side: each stored message carries its owner's tag.
    for owner_id, content in Message.objects.filter(role="user").values_list(
        "owner_id", "content"
    ):
        assert content.startswith(marker_for(owner_id))


def test_a_server_too_slow_for_the_rate_shows_missed_slots_and_a_shortfall(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    # Every reply takes 0.4 s, but each of the 4 users is due every 0.2 s.
    fake = FakeOpenAI(api_key="test-key").start()
    fake.set_mode("slow", delay=0.4)
    env = {
        **server_env,
        "CHAT_BACKEND": "openai",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "test-key",
        "CHAT_MODEL": "fake-model",
    }
    config = write_scenario(
        tmp_path / "fast.yaml", target_rps=20, duration=4, user_count=4, ramp_up=0
    )
    try:
        with start_server(threads=8, env=env) as slow:
            result = run_manage(
                server_env, "loadtest", "--config", str(config), "--url", slow.url
            )
    finally:
        fake.stop()

    assert result.returncode != 0
    assert "arrival_rate_rps" in result.stderr
    run = LoadTestRun.objects.get()
    assert run.failures == 0
    assert run.missed_slots > 0
    # Every slot of the window was either sent or counted as missed.
    assert 70 <= run.requests + run.missed_slots <= 90
    assert run.achieved_rps < 19
    assert "missed arrival slots" in result.stdout


def _users_with_password(count: int, password: str) -> None:
    hashed = make_password(password)
    get_user_model().objects.bulk_create(
        get_user_model()(username=f"loadtest-{i}", password=hashed)
        for i in range(count)
    )


def test_tokens_from_the_login_endpoint_drive_a_remote_style_run(
    server: Server, server_env: dict[str, str], tmp_path: Path
) -> None:
    _users_with_password(3, "a-Long-pass-123")
    config = write_scenario(
        tmp_path / "api.yaml", target_rps=3, duration=3, user_count=3, ramp_up=0,
        # About tokens, not the rate: nine slots are too few to judge one.
        metrics={"min_rate_fraction": 0.5},
    )  # fmt: skip
    env = {**server_env, "LOADTEST_PASSWORD": "a-Long-pass-123"}

    result = run_manage(
        env, "loadtest", "--config", str(config), "--url", server.url, "--tokens", "api"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "tokens minted: 3, api" in result.stdout
    assert LoadTestRun.objects.get().failures == 0


def test_api_tokens_shorter_than_the_run_are_refused_before_it(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    _users_with_password(2, "a-Long-pass-123")
    config = write_scenario(
        tmp_path / "long.yaml", target_rps=2, duration=120, user_count=2, ramp_up=0
    )
    env = {**server_env, "JWT_ACCESS_LIFETIME_SECONDS": "60"}

    with start_server(env=env) as short_lived:
        result = run_manage(
            env, "loadtest", "--config", str(config), "--url", short_lived.url,
            "--tokens", "api", "--password", "a-Long-pass-123",
        )  # fmt: skip

    assert result.returncode != 0
    assert "JWT_ACCESS_LIFETIME_SECONDS" in result.stderr
    assert not LoadTestRun.objects.exists()
