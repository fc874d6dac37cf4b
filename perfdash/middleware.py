"""The request middleware: route template, method, status and total time."""

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from perfdash import probes, recorder
from perfdash.probes import UNMATCHED_ROUTE, RequestProbe


def _route(request: HttpRequest) -> str:
    # The URL pattern, never the path: ids must not multiply the keys.
    match = request.resolver_match
    if match is None:
        return UNMATCHED_ROUTE
    return match.route or match.view_name or UNMATCHED_ROUTE


class _Finish:
    """Record a request once, when its response is complete."""

    __slots__ = ("request", "status", "probe", "n_plus_one", "done")

    def __init__(
        self, request: HttpRequest, status: int, probe: RequestProbe, n_plus_one: int
    ) -> None:
        self.request = request
        self.status = status
        self.probe = probe
        self.n_plus_one = n_plus_one
        self.done = False

    def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        now = time.perf_counter()
        request = self.request
        recorder.record(
            finished_at=time.time(),
            route=_route(request),
            method=request.method or "",
            status=self.status,
            seconds=now - self.probe.started,
            probe=self.probe,
            n_plus_one=self.n_plus_one,
        )


class _SyncStream:
    """Streamed content whose request is recorded when the stream closes."""

    def __init__(self, content: Any, finish: _Finish) -> None:
        self.content = content
        self.finish = finish

    def __iter__(self) -> Iterator[bytes]:
        # Statements and upstream calls made while streaming still count.
        with probes.active(self.finish.probe):
            yield from self.content

    def close(self) -> None:
        try:
            close = getattr(self.content, "close", None)
            if close is not None:
                close()
        finally:
            self.finish()


class _AsyncStream:
    """The asynchronous counterpart of :class:`_SyncStream`."""

    def __init__(self, content: Any, finish: _Finish) -> None:
        self.content = content
        self.finish = finish

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with probes.active(self.finish.probe):
            async for chunk in self.content:
                yield chunk

    def close(self) -> None:
        # An async iterator's aclose() belongs to the server; record only.
        self.finish()


class PerfdashMiddleware:
    """Open a probe per request and hand the finished request to the recorder.

    Place it first in ``MIDDLEWARE`` so the time of every other middleware is
    counted. Removed from the chain entirely when ``PERFDASH['ENABLED']`` is off.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        config = settings.PERFDASH
        if not config["ENABLED"]:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.slow_seconds = float(config["SLOW_STATEMENT_MS"]) / 1000.0
        self.n_plus_one = int(config["N_PLUS_ONE_THRESHOLD"])
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        probe, token = probes.start()
        probe.slow_seconds = self.slow_seconds
        try:
            response = self.get_response(request)
        finally:
            probes.finish(token)
        return self._complete(request, response, probe)

    async def __acall__(self, request: HttpRequest) -> Any:
        probe, token = probes.start()
        probe.slow_seconds = self.slow_seconds
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            probes.finish(token)
        return self._complete(request, response, probe)

    def _complete(
        self, request: HttpRequest, response: HttpResponseBase, probe: RequestProbe
    ) -> HttpResponseBase:
        finish = _Finish(request, response.status_code, probe, self.n_plus_one)
        if response.streaming:
            streaming = cast(StreamingHttpResponse, response)
            stream_class = _AsyncStream if streaming.is_async else _SyncStream
            streaming.streaming_content = stream_class(
                streaming.streaming_content, finish
            )
        else:
            finish()
        return response
