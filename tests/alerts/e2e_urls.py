"""The project's URLs plus two test-only views for the end-to-end alert test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from chatbot.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def ok_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def boom_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("deliberate server error for the alert test")


urlpatterns = [
    *urlpatterns,
    path("e2e/ok/", ok_view),
    path("e2e/boom/", boom_view),
]
