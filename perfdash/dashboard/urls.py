"""URLs under /perfdash/: the staff JSON API and the Prometheus endpoint.

The dashboard pages themselves live in the admin (see ``admin_site``).
"""

from django.urls import path

from perfdash.dashboard import api, views

app_name = "perfdash"

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
    path("api/summary", api.SummaryView.as_view(), name="api_summary"),
    path("api/routes", api.RoutesView.as_view(), name="api_routes"),
    path("api/series", api.SeriesView.as_view(), name="api_series"),
    path("api/statements", api.StatementsView.as_view(), name="api_statements"),
]
