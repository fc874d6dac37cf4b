"""Gunicorn settings for production: ``gunicorn -c chatbot/gunicorn.conf.py``.

Each worker keeps its perfdash measurements in memory between flushes; the
``worker_exit`` hook writes the last ones when a worker stops or is recycled
(``max_requests``), so no request goes uncounted.
"""

import os
from typing import Any

wsgi_app = "chatbot.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "0"))
graceful_timeout = 30


def worker_exit(server: Any, worker: Any) -> None:
    """Flush the worker's pending perfdash measurements before it exits."""
    from perfdash import recorder

    recorder.flush_at_exit()

# A hostile or broken client may send a token of ~10 KB: let it reach the app,
# which answers 401 in the API's error shape (gunicorn's own limit, 8190
# bytes, would answer 431 in HTML). Larger headers still get gunicorn's 431.
limit_request_field_size = 16384
