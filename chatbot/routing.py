"""URL helpers: routes that answer with and without their trailing slash."""

from typing import Any

from django.urls import URLPattern, path


def slash_optional(route: str, view: Any, name: str) -> list[URLPattern]:
    """Route ``route`` (written with its trailing slash) with or without it."""
    # Without the twin, Django's APPEND_SLASH redirects a POST to the slashless
    # URL (losing its body) or, with DEBUG on, fails it with a 500. The twin
    # has no name, so reverse() gives the canonical form.
    return [path(route, view, name=name), path(route.rstrip("/"), view)]


def drop_slashless_twins(
    endpoints: list[tuple[str, str, str, Any]], **kwargs: Any
) -> list[tuple[str, str, str, Any]]:
    """Leave the slashless twins out of the OpenAPI schema (a spectacular hook)."""
    documented = {(route, method) for route, _, method, _ in endpoints}
    return [
        (route, regex, method, view)
        for route, regex, method, view in endpoints
        if route.endswith("/") or (route + "/", method) not in documented
    ]
