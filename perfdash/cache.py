"""A cache backend that counts the hits and misses of the request being served.

``MeasuredCache`` wraps whatever backend ``CACHES`` names (django-redis, its
project subclass, locmem): settings move the real backend's path to
``MEASURED_BACKEND`` and put this class in front. A stored value of any kind,
empty or ``None`` included, is a hit; the default handed back for a missing
key is a miss; ``get_many`` counts each distinct key. Outside a request, and
for every other method, it is the wrapped backend untouched.
"""

from typing import Any

from asgiref.sync import sync_to_async
from django.utils.module_loading import import_string

from perfdash import probes

_MISSING = object()


class MeasuredCache:
    """Delegate to the configured backend, counting ``get`` and ``get_many``."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        params = dict(params)
        backend = import_string(params.pop("MEASURED_BACKEND"))
        self._backend = backend(location, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def __contains__(self, key: Any) -> bool:
        return key in self._backend

    def get(self, key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Return the cached value or ``default``, counting a hit or a miss."""
        probe = probes._current.get()
        if probe is None:
            return self._backend.get(key, default, *args, **kwargs)
        value = self._backend.get(key, _MISSING, *args, **kwargs)
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
        found = self._backend.get_many(keys, *args, **kwargs)
        probe.cache_hits += len(found)
        probe.cache_misses += len(set(keys)) - len(found)
        return found

    def get_or_set(self, key: Any, default: Any, *args: Any, **kwargs: Any) -> Any:
        """Return the cached value, or set it from ``default`` (one lookup)."""
        probe = probes._current.get()
        if probe is None:
            return self._backend.get_or_set(key, default, *args, **kwargs)
        value = self._backend.get(key, _MISSING)
        if value is not _MISSING:
            probe.cache_hits += 1
            return value
        probe.cache_misses += 1
        return self._backend.get_or_set(key, default, *args, **kwargs)

    async def aget(self, key: Any, default: Any = None, *args: Any, **kw: Any) -> Any:
        """Return the cached value or ``default`` (async), counting it."""
        return await sync_to_async(self.get)(key, default, *args, **kw)

    async def aget_many(self, keys: Any, *args: Any, **kw: Any) -> dict[Any, Any]:
        """Return the values found (async), counting each key."""
        return await sync_to_async(self.get_many)(keys, *args, **kw)
