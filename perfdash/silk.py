"""Keep credentials and message text out of django-silk's tables.

Silk (when ``SILK_ENABLED``) masks the Authorization and Cookie request
headers itself, and the settings turn off request and response bodies. What
it still stores is scrubbed here, on the way into its tables:

- SQL text, which silk records with the parameter values interpolated
  unquoted (message text, refresh tokens, session keys): replaced by the
  normalized shape of the statement as the driver received it, with
  placeholders, which a second execute wrapper remembers per thread;
- silk's EXPLAIN output, which quotes the values again: dropped;
- query-string values, which may carry a token: masked, keys kept;
- response headers (``Set-Cookie`` carries session and CSRF cookies) and any
  request header named like a secret: masked.
"""

import json
import re
import threading
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models.signals import pre_save

from perfdash.normalize import normalize_sql

MASK = "********"
_SECRET_NAME = re.compile(
    r"auth|cookie|token|secret|password|passwd|key|session|csrf|signature", re.I
)


def _mask_json_values(encoded: str, *, all_values: bool) -> str:
    if not encoded:
        return encoded
    try:
        data = json.loads(encoded)
    except ValueError:
        return MASK
    if not isinstance(data, dict):
        return MASK
    return json.dumps(
        {
            key: MASK if all_values or _SECRET_NAME.search(str(key)) else value
            for key, value in data.items()
        }
    )


def _scrub_request(sender: Any, instance: Any, **_: Any) -> None:
    instance.encoded_headers = _mask_json_values(
        instance.encoded_headers, all_values=False
    )
    instance.query_params = _mask_json_values(instance.query_params, all_values=True)
    instance.body = ""
    instance.raw_body = ""


def _scrub_response(sender: Any, instance: Any, **_: Any) -> None:
    instance.encoded_headers = _mask_json_values(
        instance.encoded_headers, all_values=False
    )
    instance.body = ""
    instance.raw_body = ""


_last = threading.local()
_UNKNOWN = "(statement not captured)"


def remember_statement(
    execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Keep the placeholder form of this thread's latest statement for silk."""
    if not sql.startswith("EXPLAIN "):
        _last.sql = sql
    return execute(sql, params, many, context)


def _install_wrapper(connection: BaseDatabaseWrapper, **_: Any) -> None:
    if remember_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(remember_statement)


def _normalized_queries(original: Any) -> Any:
    # Silk registers a statement right after running it (and its EXPLAIN) in
    # the same thread, so the remembered placeholder form is that statement.
    def register_query(self: Any, *queries: dict[str, Any]) -> Any:
        for query in queries:
            sql = getattr(_last, "sql", None)
            query["query"] = normalize_sql(sql) if sql else _UNKNOWN
            query.pop("analysis", None)
            _last.sql = None
        return original(self, *queries)

    register_query.perfdash_scrubbed = True  # type: ignore[attr-defined]
    return register_query


def install() -> None:
    """Hook the scrubbers into silk (call once, from the app's ready())."""
    from silk.collector import DataCollector
    from silk.models import Request, Response

    connection_created.connect(_install_wrapper, dispatch_uid="perfdash.silk.sql")
    pre_save.connect(_scrub_request, sender=Request, dispatch_uid="perfdash.silk.req")
    pre_save.connect(
        _scrub_response, sender=Response, dispatch_uid="perfdash.silk.resp"
    )
    # Silk has no hook between recording a statement and bulk-creating it, so
    # its collector's register_query is wrapped (silk 5.6, collector.py).
    if not getattr(DataCollector.register_query, "perfdash_scrubbed", False):
        DataCollector.register_query = _normalized_queries(  # type: ignore[method-assign]
            DataCollector.register_query
        )
