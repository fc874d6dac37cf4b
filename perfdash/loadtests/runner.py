"""Run one scenario with Locust in a subprocess and collect what it measured.

Locust runs in its own process because gevent patches the standard library
at import, which must not happen inside Django's process; the subprocess
uses :mod:`perfdash.loadtests.locustfile` and hands back a JSON result.
"""

import json
import subprocess
import sys
import tempfile
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil
from django.conf import settings

from perfdash.loadtests.resources import ResourceSample, ResourceSampler, summarize
from perfdash.loadtests.scenario import Scenario
from perfdash.loadtests.tokens import UserToken

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
# Seconds a run may overrun its scenario before it is stopped.
GRACE_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15


class Writer(Protocol):
    """Where progress goes: a text stream or a command's stdout."""

    def write(self, msg: str) -> Any: ...

    def flush(self) -> None: ...


class RunError(Exception):
    """The load generator did not produce a result."""


@dataclass
class RunOutcome:
    result: dict[str, Any]
    resources: dict[str, Any]
    resource_samples: list[ResourceSample]
    interval_seconds: float


def _affinity(pids: list[int]) -> list[int] | None:
    cpus: set[int] = set()
    for pid in pids:
        try:
            cpus.update(psutil.Process(pid).cpu_affinity() or [])
        except psutil.Error:
            continue
    return sorted(cpus) or None


def locust_command(
    *,
    url: str,
    plan_file: Path,
    processes: int = 0,
    expect_workers: int = 0,
    master_port: int = 5557,
) -> list[str]:
    """Return the command line that starts the load generator."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--host",
        url,
        "--plan-file",
        str(plan_file),
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        # Requests in flight at the end are answered and counted, not cut.
        "--stop-timeout",
        str(STOP_TIMEOUT_SECONDS),
    ]
    if processes:
        # Locust forks a master and this many local workers.
        command += ["--processes", str(processes)]
    elif expect_workers:
        command += [
            "--master",
            "--expect-workers",
            str(expect_workers),
            "--master-bind-port",
            str(master_port),
        ]
    return command


def run_scenario(
    *,
    scenario: Scenario,
    url: str,
    tokens: list[UserToken],
    server_pids: list[int],
    out: Writer,
    processes: int = 0,
    expect_workers: int = 0,
    interval_seconds: float = 5.0,
    progress_seconds: float = 5.0,
    generator_cpus: list[int] | None = None,
) -> RunOutcome:
    """Drive the scenario against the URL and return the measured outcome."""
    with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
        plan_file = Path(tmp) / "plan.json"
        result_file = Path(tmp) / "result.json"
        log_file = Path(tmp) / "locust.log"
        plan_file.write_text(
            json.dumps(
                {
                    "scenario": scenario.as_dict(),
                    "users": tokens,
                    "result_file": str(result_file),
                    "interval_seconds": interval_seconds,
                    "progress_seconds": progress_seconds,
                }
            ),
            encoding="utf-8",
        )
        command = locust_command(
            url=url,
            plan_file=plan_file,
            processes=processes,
            expect_workers=expect_workers,
        )
        with log_file.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            if generator_cpus:
                # Locust's worker processes fork later and inherit this.
                psutil.Process(proc.pid).cpu_affinity(generator_cpus)
            affinity = {
                "generator_cpus": psutil.Process(proc.pid).cpu_affinity(),
                "server_cpus": _affinity(server_pids),
            }
            sampler = ResourceSampler(
                server_pids=server_pids, generator_pids=[proc.pid]
            )
            sampler.start()
            deadline = scenario.ramp_up + scenario.duration + GRACE_SECONDS
            if expect_workers:
                deadline += GRACE_SECONDS  # time for the workers to join
            timer = threading.Timer(deadline, proc.kill)
            timer.start()
            tail: deque[str] = deque(maxlen=20)
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    if line.startswith("["):
                        out.write(line)
                        out.flush()
                    else:
                        tail.append(line)
                proc.wait()
            finally:
                timer.cancel()
                sampler.stop()
        if not result_file.exists():
            errors = log_file.read_text(encoding="utf-8")[-2000:]
            raise RunError(
                f"the load generator exited with {proc.returncode} and no result:\n"
                f"{''.join(tail)}{errors}"
            )
        result = json.loads(result_file.read_text(encoding="utf-8"))

    steady_from = result["started"] + scenario.ramp_up
    resources = (
        summarize(sampler.samples, steady_from, steady_from + scenario.duration)
        if server_pids
        else {}
    )
    if not server_pids and sampler.samples:
        generator = summarize(
            sampler.samples, steady_from, steady_from + scenario.duration
        )
        resources = {k: v for k, v in generator.items() if k.startswith("generator")}
    return RunOutcome(
        result=result,
        resources={**resources, **affinity},
        resource_samples=sampler.samples,
        interval_seconds=interval_seconds,
    )
