"""Settings for servers started by perfdash tests: the project plus test views."""

from chatbot.settings import *  # noqa: F403

ROOT_URLCONF = "tests.perfdash.urls"
