"""Soak: memory growth of a web process per 10,000 requests.

Starts one gunicorn server (stateless mode, one worker process), warms it
up, then sends ``--requests`` chat turns at a steady rate with Locust while
sampling the server's resident memory every second. Prints memory at the
start and end of the steady window and the growth per 10,000 requests from
a least-squares line through the samples (so one allocation burst does not
decide the figure). The server is pinned to core 0 and the load generator
to core 1 (on two or more cores).

    DATABASE_URL=postgres://... REDIS_URL=redis://... \\
        .venv/bin/python bench/soak.py --requests 10000 --rps 50
"""

import argparse
import statistics
import sys

from _django import default_cpus, setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rps", type=float, default=50.0)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--turns-per-conversation", type=int, default=10)
    parser.add_argument(
        "--mode", choices=["stateless", "stateful"], default="stateless"
    )
    args = parser.parse_args()
    setup()

    import psutil

    from perfdash.loadtests.compare import warm_up
    from perfdash.loadtests.runner import run_scenario
    from perfdash.loadtests.scenario import Scenario, Thresholds
    from perfdash.loadtests.servers import server_environment, start_server
    from perfdash.loadtests.tokens import ensure_load_users, mint_tokens_locally

    ramp = 5.0
    scenario = Scenario(
        name="soak", target_rps=args.rps, duration=args.requests / args.rps,
        user_count=args.users, ramp_up=ramp, thresholds=Thresholds(),
        turns_per_conversation=args.turns_per_conversation,
    )  # fmt: skip
    users = ensure_load_users(count=args.users + 1)
    tokens = mint_tokens_locally(
        user_ids=users, lifetime_seconds=scenario.duration + ramp + 600
    )
    server_cpus, generator_cpus = default_cpus()
    env = server_environment(CHAT_HISTORY_MODE=args.mode)
    with start_server(env=env) as server:
        if server_cpus:
            for proc in [
                psutil.Process(server.pid),
                *psutil.Process(server.pid).children(),
            ]:
                proc.cpu_affinity(server_cpus)
        warm_up(server, *tokens[-1])
        outcome = run_scenario(
            scenario=scenario, url=server.url, tokens=tokens[:-1],
            server_pids=[server.pid], out=sys.stdout, generator_cpus=generator_cpus,
        )  # fmt: skip

    summary = outcome.result["summary"]
    steady_from = outcome.result["started"] + ramp
    samples = [s for s in outcome.resource_samples if s.at >= steady_from]
    if len(samples) < 3 or not summary["requests"]:
        print("too few samples or requests to fit a line", file=sys.stderr)
        return 1
    slope, _ = statistics.linear_regression(
        [s.at for s in samples], [float(s.server_rss) for s in samples]
    )
    per_request = slope / summary["achieved_rps"]
    mib = 2**20
    print(
        f"\nrequests (steady) {summary['requests']} "
        f"at {summary['achieved_rps']:g} rps, "
        f"failures {summary['failures']}, p95 {summary['percentiles_ms'].get('95')} ms"
    )
    if summary["errors"]:
        print(f"errors seen: {summary['errors']}")
    print(f"server memory: {samples[0].server_rss / mib:.1f} MiB at start of steady "
          f"window, {samples[-1].server_rss / mib:.1f} MiB at end")  # fmt: skip
    print(f"growth per 10,000 requests: {per_request * 10_000 / mib:.2f} MiB "
          f"(least squares over {len(samples)} samples)")  # fmt: skip
    print(f"cores: server {outcome.resources.get('server_cpus')}, "
          f"load generator {outcome.resources.get('generator_cpus')}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
