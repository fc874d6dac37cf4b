"""Settings for the end-to-end alert test's servers: the project's, plus URLs
that answer 200 and 500 on demand (a real source of server errors)."""

from chatbot.settings import *  # noqa: F403

ROOT_URLCONF = "tests.alerts.e2e_urls"
