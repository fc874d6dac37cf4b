"""Count every SQL statement of a request through ``execute_wrapper``.

The wrapper sits on each database connection wrapper for the life of the
process (installed once when it first connects), so raw cursor SQL counts as
well as the ORM's. Outside a request (flusher, Celery) it only passes through.
"""

import time
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from perfdash import probes

# Statements on these tables are the measuring tools' own, not the app's;
# so is EXPLAIN, which silk runs after every statement it records.
_OWN_TABLES = ("perfdash_", "silk_")
_EXPLAIN = "EXPLAIN "


def measure_statement(
    execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Time one statement and add it to the current request's probe."""
    probe = probes._current.get()
    if (
        probe is None
        or _OWN_TABLES[0] in sql
        or _OWN_TABLES[1] in sql
        or sql.startswith(_EXPLAIN)
    ):
        return execute(sql, params, many, context)
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        elapsed = time.perf_counter() - started
        probe.db_statements += 1
        probe.db_seconds += elapsed
        probe.statement_seconds.append(elapsed)
        entry = probe.statements.get(sql)
        if entry is None:
            probe.statements[sql] = [1, elapsed]
        else:
            entry[0] += 1
            entry[1] += elapsed
        if elapsed >= probe.slow_seconds:
            probe.slow_statements.append((sql, elapsed))


def install(connection: BaseDatabaseWrapper, **_: Any) -> None:
    """Add the statement wrapper to a connection wrapper, once."""
    if measure_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(measure_statement)
