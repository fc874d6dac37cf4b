"""Run a load-test scenario against a running server and store the run."""

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perfdash.loadtests.report import run_table
from perfdash.loadtests.resources import server_pids_for
from perfdash.loadtests.runner import RunError, run_scenario
from perfdash.loadtests.scenario import Scenario, ScenarioError, load_scenarios
from perfdash.loadtests.services import record_run
from perfdash.loadtests.tokens import (
    TokenError,
    UserToken,
    ensure_load_users,
    mint_tokens_locally,
    mint_tokens_via_api,
)
from perfdash.loadtests.verdict import judge_run

# Tokens outlive the scheduled run by this much (last in-flight requests).
TOKEN_MARGIN_SECONDS = 300


class Command(BaseCommand):
    help = (
        "Run a load-test scenario (YAML) with Locust against a running server, "
        "print and store the result; exit non-zero when a threshold fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--config", help="Scenario file (default: the design's).")
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="Base URL of the server under test.",
        )
        parser.add_argument(
            "--tokens",
            choices=["db", "api"],
            default="db",
            help="db: create loadtest-N users and sign tokens with this "
            "command's database (it must be the server's); api: log existing "
            "loadtest-N users in through /api/token/ before the run.",
        )
        parser.add_argument(
            "--password",
            default=os.environ.get("LOADTEST_PASSWORD", ""),
            help="Password of the loadtest-N users (--tokens api).",
        )
        parser.add_argument(
            "--server-pid",
            type=int,
            action="append",
            default=[],
            help="Process to sample for CPU and memory (repeatable); by default "
            "the processes listening on the URL's port when it is local.",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=0,
            help="Local Locust worker processes (master/worker mode).",
        )
        parser.add_argument(
            "--expect-workers",
            type=int,
            default=0,
            help="Wait for this many remote Locust workers.",
        )
        parser.add_argument(
            "--generator-cpus",
            default="",
            help="Cores the load generator may use, e.g. 1 (the server's are "
            "reported as they are).",
        )
        parser.add_argument("--label", default="", help="Note stored with the run.")
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="Seconds per point of the latency series.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            scenarios = load_scenarios(options["config"])
        except ScenarioError as exc:
            raise CommandError(f"scenario: {exc}") from None
        url = options["url"].rstrip("/")
        server_pids = options["server_pid"] or server_pids_for(url)
        if not server_pids:
            self.stderr.write(
                "No server process found to sample; CPU and memory go unjudged "
                "(pass --server-pid)."
            )

        failed = []
        for scenario in scenarios:
            run = self._run_one(scenario, url, server_pids, options)
            self.stdout.write(run_table(run))
            if not run.passed:
                failed.append(
                    f"{scenario.name}: "
                    + ", ".join(c["name"] for c in run.checks if c["passed"] is False)
                )
        if failed:
            raise CommandError("thresholds failed: " + "; ".join(failed))

    def _tokens(
        self, scenario: Scenario, url: str, options: dict[str, Any]
    ) -> list[UserToken]:
        run_seconds = scenario.ramp_up + scenario.duration
        if options["tokens"] == "api":
            if not options["password"]:
                raise CommandError("--tokens api needs --password or LOADTEST_PASSWORD")
            try:
                return mint_tokens_via_api(
                    base_url=url,
                    count=scenario.user_count,
                    password=options["password"],
                    run_seconds=run_seconds,
                )
            except TokenError as exc:
                raise CommandError(str(exc)) from None
        user_ids = ensure_load_users(count=scenario.user_count)
        return mint_tokens_locally(
            user_ids=user_ids, lifetime_seconds=run_seconds + TOKEN_MARGIN_SECONDS
        )

    def _run_one(
        self,
        scenario: Scenario,
        url: str,
        server_pids: list[int],
        options: dict[str, Any],
    ) -> Any:
        tokens = self._tokens(scenario, url, options)
        self.stdout.write(
            f"Scenario '{scenario.name}': {scenario.target_rps:g} rps for "
            f"{scenario.duration:g} s after a {scenario.ramp_up:g} s ramp, "
            f"{scenario.user_count} users (tokens minted: {len(tokens)}, "
            f"{options['tokens']}), server pids {server_pids or 'unknown'}"
        )
        try:
            outcome = run_scenario(
                scenario=scenario,
                url=url,
                tokens=tokens,
                server_pids=server_pids,
                out=self.stdout,
                processes=options["processes"],
                expect_workers=options["expect_workers"],
                interval_seconds=options["interval"],
                generator_cpus=[int(c) for c in options["generator_cpus"].split(",")]
                if options["generator_cpus"]
                else None,
            )
        except RunError as exc:
            raise CommandError(str(exc)) from None
        checks = judge_run(scenario, outcome.result["summary"], outcome.resources)
        return record_run(
            scenario=scenario,
            target_url=url,
            result=outcome.result,
            resources=outcome.resources,
            resource_samples=outcome.resource_samples,
            checks=checks,
            interval_seconds=outcome.interval_seconds,
            label=options["label"],
        )
