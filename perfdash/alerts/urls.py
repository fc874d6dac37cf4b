from django.urls import path

from perfdash.alerts import views

app_name = "alerts"

urlpatterns = [
    path("silence/<str:token>/", views.silence_view, name="silence"),
]
