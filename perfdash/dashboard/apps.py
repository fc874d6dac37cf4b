"""Admin app config that installs the admin site with the Performance pages."""

from django.contrib.admin.apps import AdminConfig


class PerformanceAdminConfig(AdminConfig):
    """Django's admin, with :class:`PerformanceAdminSite` as ``admin.site``."""

    default_site = "perfdash.dashboard.admin_site.PerformanceAdminSite"
