"""Dashboard pages in the admin and the Prometheus endpoint: parse, read, render.

The pages are wrapped by the admin site (staff only, see ``admin_site``);
``metrics`` checks staff or the bearer token itself, since scrapers have no
session.
"""

import hmac
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from chatbot.errors import error_body
from perfdash.dashboard import metrics as prometheus
from perfdash.dashboard import selectors
from perfdash.dashboard.ranges import PRESETS, InvalidRange, TimeRange, parse_range


def _step_label(step: timedelta) -> str:
    minutes = int(step.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}-day"
    if minutes % 60 == 0:
        return f"{minutes // 60}-hour"
    return f"{minutes}-minute"


def _frame_context(
    request: HttpRequest, time_range: TimeRange | None, route: str | None
) -> dict[str, Any]:
    """Return what every dashboard page needs: admin frame and range picker."""
    extra = {"route": route} if route else {}
    shown = time_range or parse_range({})
    return {
        **admin.site.each_context(request),
        "title": f"Performance: {route}" if route else "Performance",
        "route": route,
        "time_range": time_range,
        "range_query": urlencode({**extra, **shown.query()}),
        "preset_links": [
            (preset, urlencode({**extra, "range": preset})) for preset in PRESETS
        ],
        "keep_params": list(extra.items()),
        "custom_start": shown.start.strftime("%Y-%m-%dT%H:%M"),
        "custom_end": shown.end.strftime("%Y-%m-%dT%H:%M"),
        "step_label": _step_label(shown.step),
        "paused": request.GET.get("paused") == "1",
    }


def _render(request: HttpRequest, *, route: str | None) -> TemplateResponse:
    template = "perfdash/route.html" if route else "perfdash/overview.html"
    try:
        time_range = parse_range(request.GET)
    except InvalidRange as exc:
        context = _frame_context(request, None, route)
        context["range_error"] = str(exc.detail)
        return TemplateResponse(request, template, context, status=400)

    sort, descending = selectors.parse_sort(
        request.GET.get("sort"), request.GET.get("dir")
    )
    page = selectors.dashboard_page(
        time_range=time_range, route=route, sort=sort, descending=descending
    )
    context = _frame_context(request, time_range, route)
    context.update(page=page, sort=sort, descending=descending)
    return TemplateResponse(request, template, context)


def overview(request: HttpRequest) -> TemplateResponse:
    """Show the overview of every route for the chosen range."""
    return _render(request, route=None)


def route_detail(request: HttpRequest) -> TemplateResponse:
    """Show the same tiles and charts for one route (``?route=``)."""
    route = request.GET.get("route", "").strip()
    if not route:
        context = _frame_context(request, None, None)
        context["range_error"] = "Choose a route from the overview's route table."
        return TemplateResponse(request, "perfdash/route.html", context, status=400)
    return _render(request, route=route)


def _metrics_refusal(request: HttpRequest) -> JsonResponse | None:
    """Return the refusal for a request with neither staff rights nor the token."""
    user = request.user
    if user.is_authenticated and user.is_active and user.is_staff:
        return None

    expected = settings.PERFDASH.get("METRICS_TOKEN") or ""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if expected and scheme.lower() == "bearer" and given:
        # Constant-time compare, so the token cannot be guessed byte by byte.
        if hmac.compare_digest(given.strip().encode(), expected.encode()):
            return None

    if user.is_authenticated:
        return JsonResponse(
            error_body("forbidden", "Staff rights or the metrics token required."),
            status=403,
        )
    response = JsonResponse(
        error_body(
            "not_authenticated",
            "Log in as staff or send 'Authorization: Bearer <metrics token>'.",
        ),
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="perfdash"'
    return response


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Export the stored metrics in the Prometheus text format."""
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(prometheus.exposition(), content_type=CONTENT_TYPE_LATEST)
