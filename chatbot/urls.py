"""Root URLs: admin, the API, the schema and perfdash."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from chatbot.routing import slash_optional

handler400 = "chatbot.errors.json_400"
handler403 = "chatbot.errors.json_403"
handler404 = "chatbot.errors.json_404"
handler500 = "chatbot.errors.json_500"

urlpatterns = [
    path("admin/", admin.site.urls),
    # With or without the slash, like the token routes (conversations.urls).
    *slash_optional("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("conversations.urls")),
    # perfdash: staff JSON API and the Prometheus endpoint (pages: admin).
    path("perfdash/", include("perfdash.dashboard.urls")),
    path("alerts/", include("perfdash.alerts.urls")),
]

# django-silk, the optional deep profiler (staff only), when SILK_ENABLED.
if settings.PERFDASH["SILK_ENABLED"]:
    urlpatterns.append(path("silk/", include("silk.urls", namespace="silk")))
