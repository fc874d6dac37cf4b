"""Fail fast while PostgreSQL is down: a circuit breaker in each web process.

psycopg_pool makes a request wait up to the pool timeout for a connection,
and retries a dead server in the background with a growing back-off. So
while the server is down every request would hang for the whole timeout,
and once it is back the pool would take seconds more to notice.

Here the pool's own connection attempts and health checks report to a
breaker. The first refused attempt opens it and closes the pool, which wakes
every request waiting for a connection with an error at once (a 503). While it is open,
requests get a 503 without touching the pool, except that at most one
request per ``PROBE_SECONDS`` tries a direct connection; when that succeeds
the breaker closes and the next request opens a fresh pool.
"""

import logging
import threading
import time
from typing import Any

import psycopg

# Imported by settings (for BreakerConnection): nothing from django.db here at
# import time.

logger = logging.getLogger(__name__)

PROBE_SECONDS = 0.5
PROBE_CONNECT_TIMEOUT = 1


class Breaker:
    """Open while the database refuses connections; shared by a process's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.opened_at: float | None = None
        self._next_probe = 0.0

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def trip(self) -> None:
        """Open the breaker (once) and close the pool in the background."""
        with self._lock:
            if self.opened_at is not None:
                return
            self.opened_at = time.monotonic()
            self._next_probe = self.opened_at + PROBE_SECONDS
        logger.warning("Database refused a connection; failing fast until it answers")
        # Not in this thread: the pool's own worker calls trip(), and a pool
        # cannot join its workers from inside one of them.
        threading.Thread(target=_close_pool, name="close-db-pool", daemon=True).start()

    def allow(self) -> bool:
        """Return whether a request may use the database now (maybe probing it)."""
        if self.opened_at is None:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._next_probe:
                return False
            self._next_probe = now + PROBE_SECONDS
        if not _probe():
            return False
        with self._lock:
            down = time.monotonic() - (self.opened_at or time.monotonic())
            self.opened_at = None
        logger.info("Database answers again after %.1f s", down)
        return True


BREAKER = Breaker()


def _close_pool() -> None:
    from django.db import DEFAULT_DB_ALIAS, connections

    # Django's close_pool() waits up to 5 s for the pool's workers before it
    # fails the waiting requests; here they fail at once (timeout=0). Django
    # opens a new pool on the next connection it needs.
    pools: dict[str, Any] = getattr(
        type(connections[DEFAULT_DB_ALIAS]), "_connection_pools", {}
    )
    pool = pools.pop(DEFAULT_DB_ALIAS, None)
    if pool is not None:
        pool.close(timeout=0)


def _probe() -> bool:
    from django.db import DEFAULT_DB_ALIAS, connections

    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    params["connect_timeout"] = PROBE_CONNECT_TIMEOUT
    try:
        psycopg.connect(**params).close()
    except psycopg.Error:
        return False
    return True


class BreakerConnection(psycopg.Connection):  # type: ignore[type-arg]
    """The pool's connection class: it reports a database that is down."""

    @classmethod
    def connect(cls, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            return super().connect(*args, **kwargs)
        except psycopg.OperationalError:
            BREAKER.trip()
            raise

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute(query, *args, **kwargs)
        except psycopg.OperationalError:
            # psycopg_pool's health check (CONN_HEALTH_CHECKS) runs execute("")
            # before lending a pooled connection. When it fails the pool sleeps
            # and retries until its timeout, fine after a restart but a hang
            # while the server is down. So if the server is down, let the check
            # pass: the request's first query then fails at once (a 503), and
            # the breaker keeps the next requests away.
            if query == "" and not _probe():
                BREAKER.trip()
                return None
            raise
