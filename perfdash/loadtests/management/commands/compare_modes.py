"""Measure the stateless and the stateful history mode under the same load."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perfdash.loadtests import selectors
from perfdash.loadtests.compare import MODES, measure_mode
from perfdash.loadtests.report import comparison_table
from perfdash.loadtests.runner import RunError
from perfdash.loadtests.scenario import Scenario, Thresholds
from perfdash.loadtests.servers import ServerError
from perfdash.loadtests.services import record_comparison, record_run
from perfdash.loadtests.verdict import judge_run


def _cpus(text: str) -> list[int] | None:
    return [int(part) for part in text.split(",")] if text else None


class Command(BaseCommand):
    help = (
        "Start one server per history mode (stateless, stateful), run the same "
        "load against each, and print and store the measured comparison."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=200)
        parser.add_argument("--rps", type=float, default=20.0)
        parser.add_argument("--duration", type=float, default=60.0)
        parser.add_argument("--ramp-up", type=float, default=5.0)
        parser.add_argument(
            "--threads",
            type=int,
            default=8,
            help="Threads of the one gunicorn worker per server.",
        )
        parser.add_argument(
            "--memory-budget-mb",
            type=float,
            default=1024.0,
            help="Budget for the sessions-per-memory column.",
        )
        parser.add_argument(
            "--server-cpus", default="", help="Cores for the servers, e.g. 0."
        )
        parser.add_argument(
            "--generator-cpus", default="", help="Cores for the load generator, e.g. 1."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # One conversation per user for the whole run: every user is one
        # active session the server holds.
        scenario = Scenario(
            name="compare_modes",
            target_rps=options["rps"],
            duration=options["duration"],
            user_count=options["users"],
            ramp_up=options["ramp_up"],
            thresholds=Thresholds(),
            turns_per_conversation=1_000_000,
        )
        results, servers = [], {}
        for mode in MODES:
            try:
                row, outcome, facts = measure_mode(
                    mode=mode,
                    scenario=scenario,
                    threads=options["threads"],
                    out=self.stdout,
                    memory_budget_mb=options["memory_budget_mb"],
                    server_cpus=_cpus(options["server_cpus"]),
                    generator_cpus=_cpus(options["generator_cpus"]),
                )
            except (RunError, ServerError) as exc:
                raise CommandError(f"{mode}: {exc}") from None
            if not row["requests_measured"]:
                self.stderr.write(
                    f"{mode}: perfdash stored no chat requests for the server "
                    "(PERFDASH_ENABLED off?); statements per request unknown."
                )
            row["run"] = record_run(
                scenario=scenario,
                target_url=f"{mode} server",
                result=outcome.result,
                resources=outcome.resources,
                resource_samples=outcome.resource_samples,
                checks=judge_run(
                    scenario, outcome.result["summary"], outcome.resources
                ),
                interval_seconds=outcome.interval_seconds,
                label=f"compare_modes {mode}",
            )
            results.append(row)
            servers[mode] = facts

        comparison = record_comparison(
            memory_budget_mb=options["memory_budget_mb"],
            settings={
                "scenario": scenario.as_dict(),
                "threads": options["threads"],
                "servers": servers,
            },
            results=results,
        )
        data = selectors.latest_comparison(comparison_id=comparison.pk)
        assert data is not None
        self.stdout.write(comparison_table(data))
