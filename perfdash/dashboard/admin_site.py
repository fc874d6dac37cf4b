"""The admin site: Django's own, plus the Performance dashboard pages.

The pages go through :meth:`AdminSite.admin_view`, so they get the admin's
own access rule: active staff only, everyone else is sent to the admin login.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, path, reverse

from perfdash.dashboard import views


class PerformanceAdminSite(admin.AdminSite):
    """Admin site with a "Performance" entry that opens the dashboard."""

    def get_urls(self) -> list[URLResolver | URLPattern]:
        dashboard = [
            path(
                "performance/",
                self.admin_view(views.overview),
                name="perfdash_overview",
            ),
            path(
                "performance/route/",
                self.admin_view(views.route_detail),
                name="perfdash_route",
            ),
        ]
        return dashboard + super().get_urls()

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[Any]:
        app_list = super().get_app_list(request, app_label)
        if app_label not in (None, "perfdash") or not self.has_permission(request):
            return app_list

        entry = {
            "name": "Dashboard",
            "object_name": "Dashboard",
            "perms": {"view": True},
            "admin_url": reverse("admin:perfdash_overview", current_app=self.name),
            "add_url": None,
            "view_only": True,
        }
        for app in app_list:
            if app["app_label"] == "perfdash":
                app["models"].insert(0, entry)
                return app_list
        # perfdash registers no model of its own yet: the entry stands alone.
        app_list.append(
            {
                "name": "Performance",
                "app_label": "perfdash",
                "app_url": entry["admin_url"],
                "has_module_perms": True,
                "models": [entry],
            }
        )
        app_list.sort(key=lambda app: app["name"].lower())
        return app_list
