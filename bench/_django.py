"""Set up Django for a benchmark script run as ``python bench/<name>.py``."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup() -> None:
    """Make the project importable and configure Django."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    import django

    django.setup()


def default_cpus() -> tuple[list[int] | None, list[int] | None]:
    """Return (server cores, load-generator cores): one each on 2+ cores."""
    count = os.cpu_count() or 1
    return ([0], [1]) if count >= 2 else (None, None)
