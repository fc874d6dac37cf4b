"""Stateful vs stateless history mode under the same load, side by side.

Starts one gunicorn server per mode (one worker process, so the stateful
mode's in-memory windows are valid), warms it up, drives the same Locust
load at it (``perfdash.loadtests``), and prints each mode's figures and the
stateful/stateless ratios: average and p95 latency, SQL statements per
request (from perfdash's stored rows), memory per active session. Rounds
alternate the order of the modes. The server is pinned to core 0 and the
load generator to core 1 (on two or more cores); PostgreSQL and Redis run
where the OS puts them. Nothing is stored; ``manage.py compare_modes`` is
the stored version.

    DATABASE_URL=postgres://... REDIS_URL=redis://... \\
        .venv/bin/python bench/stateful_vs_stateless.py --users 200 --rps 20
"""

import argparse
import statistics
import sys
from typing import Any

from _django import default_cpus, setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rps", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--ramp-up", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    setup()

    from perfdash.loadtests.compare import MODES, measure_mode
    from perfdash.loadtests.scenario import Scenario, Thresholds

    scenario = Scenario(
        name="bench", target_rps=args.rps, duration=args.duration,
        user_count=args.users, ramp_up=args.ramp_up, thresholds=Thresholds(),
        turns_per_conversation=1_000_000,
    )  # fmt: skip
    server_cpus, generator_cpus = default_cpus()
    rows: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for round_number in range(args.rounds):
        order = MODES if round_number % 2 == 0 else tuple(reversed(MODES))
        for mode in order:
            row, outcome, _ = measure_mode(
                mode=mode, scenario=scenario, threads=args.threads, out=sys.stdout,
                memory_budget_mb=1024, server_cpus=server_cpus,
                generator_cpus=generator_cpus,
            )  # fmt: skip
            row["achieved_rps"] = outcome.result["summary"]["achieved_rps"]
            row["cores"] = (
                outcome.resources.get("server_cpus"),
                outcome.resources.get("generator_cpus"),
            )
            rows[mode].append(row)

    def mean(mode: str, key: str) -> float:
        values = [r[key] for r in rows[mode] if r[key] is not None]
        return statistics.fmean(values) if values else float("nan")

    keys = (
        ("avg_ms", "average ms"),
        ("p95_ms", "p95 ms"),
        ("statements_per_request", "statements/request"),
        ("process_bytes_per_session", "process bytes/session"),
        ("cache_bytes_per_session", "cache bytes/session"),
        ("achieved_rps", "achieved rps"),
    )
    print(
        f"\n{'figure':24} {'stateless':>12} {'stateful':>12} {'stateful/stateless':>19}"
    )
    for key, label in keys:
        less, full = mean("stateless", key), mean("stateful", key)
        ratio = full / less if less else float("nan")
        print(f"{label:24} {less:12.2f} {full:12.2f} {ratio:19.2f}")
    cores = rows["stateless"][0]["cores"]
    print(f"\ncores: server {cores[0]}, load generator {cores[1]}; "
          f"{args.rounds} round(s) of {args.duration:g} s at {args.rps:g} rps, "
          f"{args.users} sessions")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
