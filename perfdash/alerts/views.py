"""The page behind the "silence" link in alert emails."""

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from chatbot.errors import error_body
from perfdash.alerts import services
from perfdash.alerts.emails import SILENCE_SALT
from perfdash.alerts.models import Rule, Silence


@require_http_methods(["GET", "POST"])
def silence_view(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm on GET and apply on POST a silence from a signed email link."""
    # GET only asks: mail scanners fetch links, and must not silence a rule.
    max_age = int(settings.ALERTS["SILENCE_LINK_MAX_AGE_SECONDS"])
    try:
        payload = signing.loads(token, salt=SILENCE_SALT, max_age=max_age)
        rule = Rule.objects.get(pk=int(payload["rule"]))
        minutes = int(payload["minutes"])
    except signing.SignatureExpired:
        return JsonResponse(
            error_body("link_expired", "This silence link has expired."), status=410
        )
    except (signing.BadSignature, Rule.DoesNotExist, KeyError, TypeError, ValueError):
        return JsonResponse(
            error_body("invalid_link", "This silence link is not valid."), status=400
        )

    silence: Silence | None = None
    if request.method == "POST":
        silence = services.silence_rule(
            rule=rule,
            minutes=minutes,
            source=Silence.Source.EMAIL_LINK,
            user_id=request.user.pk if request.user.is_authenticated else None,
        )
    return render(
        request,
        "alerts/silence.html",
        {"rule": rule, "minutes": minutes, "silence": silence},
    )
