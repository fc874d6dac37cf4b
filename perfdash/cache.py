"""A cache backend that measures the cache use of the request being served.

``MeasuredCache`` wraps whatever backend ``CACHES`` names (django-redis, a
project subclass, locmem): settings move the real backend's path to
``MEASURED_BACKEND`` and put this class in front. A stored value of any kind,
empty or ``None`` included, is a hit; the default handed back for a missing
key is a miss; ``get_many`` counts each distinct key. Reads and writes are
timed as cache time. Outside a request, and for every other method, it is the
wrapped backend untouched.
"""

import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.utils.module_loading import import_string

from perfdash import probes

_MISSING = object()


def _timed(name: str) -> Callable[..., Any]:
    def method(self: "MeasuredCache", *args: Any, **kwargs: Any) -> Any:
        call = getattr(self._backend, name)
        probe = probes._current.get()
        if probe is None:
            return call(*args, **kwargs)
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            probe.cache_seconds += time.perf_counter() - started

    method.__name__ = name
    method.__doc__ = f"Run the backend's ``{name}``, timed as cache time."
    return method


class MeasuredCache:
    """Delegate to the configured backend, counting and timing its use."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        params = dict(params)
        backend = import_string(params.pop("MEASURED_BACKEND"))
        self._backend = backend(location, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def __contains__(self, key: Any) -> bool:
        return key in self._backend

    set = _timed("set")
    add = _timed("add")
    set_many = _timed("set_many")
    delete = _timed("delete")
    delete_many = _timed("delete_many")
    touch = _timed("touch")
    incr = _timed("incr")
    decr = _timed("decr")

    def get(self, key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Return the cached value or ``default``, counting a hit or a miss."""
        probe = probes._current.get()
        if probe is None:
            return self._backend.get(key, default, *args, **kwargs)
        started = time.perf_counter()
        value = self._backend.get(key, _MISSING, *args, **kwargs)
        probe.cache_seconds += time.perf_counter() - started
        if value is _MISSING:
            probe.cache_misses += 1
            return default
        probe.cache_hits += 1
        return value

    def get_many(self, keys: Any, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        """Return the values found, counting each key asked for."""
        probe = probes._current.get()
        if probe is None:
            return self._backend.get_many(keys, *args, **kwargs)
        keys = list(keys)
        started = time.perf_counter()
        found = self._backend.get_many(keys, *args, **kwargs)
        probe.cache_seconds += time.perf_counter() - started
        probe.cache_hits += len(found)
        probe.cache_misses += len(set(keys)) - len(found)
        return found

    def get_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> Any:
        """Return the cached value, or add ``default`` (Django's own sequence)."""
        probe = probes._current.get()
        if probe is None:
            return self._backend.get_or_set(key, default, timeout, version)
        value = self.get(key, _MISSING, version=version)
        if value is not _MISSING:
            return value
        if callable(default):
            default = default()
        self.add(key, default, timeout=timeout, version=version)
        # Read again, as BaseCache does, in case another caller won the add;
        # the lookup was counted once above.
        started = time.perf_counter()
        try:
            return self._backend.get(key, default, version=version)
        finally:
            probe.cache_seconds += time.perf_counter() - started

    async def aget(self, key: Any, default: Any = None, *args: Any, **kw: Any) -> Any:
        """Return the cached value or ``default`` (async), counting it."""
        return await sync_to_async(self.get)(key, default, *args, **kw)

    async def aget_many(self, keys: Any, *args: Any, **kw: Any) -> dict[Any, Any]:
        """Return the values found (async), counting each key."""
        return await sync_to_async(self.get_many)(keys, *args, **kw)
