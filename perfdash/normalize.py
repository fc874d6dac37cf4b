"""Statement shapes: SQL with every value and placeholder replaced by ``?``.

A handful of regular expressions rather than a full parser (``sqlparse``
tokenizes too slowly to sit near the request path, and shapes only need to
group statements, not rewrite them). No parameter value survives: string and
numeric literals, placeholders, ``IN`` lists and multi-row ``VALUES`` collapse.
"""

import re
from functools import lru_cache

MAX_SHAPE_CHARS = 2000

_STRING = re.compile(r"'(?:[^']|'')*'|E'(?:[^'\\]|\\.|'')*'")
_NUMBER = re.compile(r"(?<![\w\"$])-?\b\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b")
_PLACEHOLDER = re.compile(r"%s|%\(\w+\)s|\$\d+|\?|:\w+\b")
_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_ROW = r"\(\s*\?(?:\s*,\s*\?)*\s*\)"
_VALUES_ROWS = re.compile(_ROW + r"(?:\s*,\s*" + _ROW + ")+")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=2048)
def normalize_sql(sql: str) -> str:
    """Return the shape of a statement, with no literal or parameter value."""
    shape = _STRING.sub("?", sql)
    shape = _PLACEHOLDER.sub("?", shape)
    shape = _NUMBER.sub("?", shape)
    shape = _IN_LIST.sub("IN (...)", shape)
    shape = _VALUES_ROWS.sub("(...)", shape)
    return _SPACE.sub(" ", shape).strip()[:MAX_SHAPE_CHARS]
