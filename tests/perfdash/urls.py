"""The project's URLs plus perfdash's test views (tests and test servers only)."""

from django.contrib.auth.views import LoginView
from django.urls import path

from chatbot.urls import (  # noqa: F401
    handler400,
    handler403,
    handler404,
    handler500,
)
from chatbot.urls import urlpatterns as project_urlpatterns
from tests.perfdash import views

urlpatterns = [
    path("perf-test/ok/<int:item>/", views.ok),
    path("perf-test/cached/", views.cached),
    path("perf-test/status/<int:code>/", views.status),
    path("perf-test/boom/", views.boom),
    path("perf-test/slow/", views.slow),
    path("perf-test/n-plus-one/", views.n_plus_one),
    path("perf-test/literal-n-plus-one/", views.literal_n_plus_one),
    path("perf-test/raw/", views.raw),
    path("perf-test/own/", views.own),
    path("perf-test/upstream/", views.upstream),
    path("perf-test/stream/", views.stream),
    path("perf-test/note/", views.NoteView.as_view()),
    # Django's own login form: unlike the admin's, it lets non-staff users in.
    path(
        "perf-test/login/",
        LoginView.as_view(template_name="admin/login.html", next_page="/"),
    ),
    *project_urlpatterns,
]
