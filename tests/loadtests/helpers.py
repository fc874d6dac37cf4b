"""Helpers for the load-test tests: run commands, write scenarios."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings


def run_manage(env: dict[str, str], *args: str, timeout: float = 180) -> Any:
    """Run a management command in its own process and return the result."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_scenario(path: Path, **spec: Any) -> Path:
    """Write a one-scenario file; ``metrics`` goes to the metrics section."""
    metrics = spec.pop("metrics", {})
    path.write_text(yaml.safe_dump({"scenarios": {"short": spec}, "metrics": metrics}))
    return path
