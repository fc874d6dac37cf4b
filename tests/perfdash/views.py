"""Views mounted only by the test URLconf, each with a known measurement."""

from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.models import Conversation, Message
from perfdash.models import RequestStatMinute
from perfdash.probes import track_upstream

CACHE_HITS_PER_REQUEST = 3
CACHE_MISSES_PER_REQUEST = 2


def ok(request: HttpRequest, item: int) -> JsonResponse:
    """Answer 200 after one ORM statement."""
    exists = get_user_model().objects.filter(pk=item).exists()
    return JsonResponse({"item": item, "exists": exists})


def cached(request: HttpRequest) -> JsonResponse:
    """Look up a known pattern: 3 hits (empty string, None) and 2 misses."""
    cache.get("perf:absent")  # miss
    cache.get("perf:empty")  # hit: a stored empty string
    found = cache.get_many(["perf:empty", "perf:none", "perf:absent2"])  # 2 + 1
    return JsonResponse({"found": sorted(found)})


@csrf_exempt
def status(request: HttpRequest, code: int) -> JsonResponse:
    """Answer with the status asked for."""
    return JsonResponse({"status": code}, status=code)


def boom(request: HttpRequest) -> HttpResponse:
    """Fail with an unhandled error (a 500)."""
    raise RuntimeError("deliberate failure for perfdash tests")


def slow(request: HttpRequest) -> JsonResponse:
    """Run one 60 ms statement (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.06)")
    return JsonResponse({"slept": True})


def n_plus_one(request: HttpRequest) -> JsonResponse:
    """Query users one by one: the same statement shape six times."""
    users = get_user_model().objects
    found = [users.filter(pk=pk).first() for pk in range(1, 7)]  # deliberate N+1
    return JsonResponse({"found": sum(1 for user in found if user)})


def literal_n_plus_one(request: HttpRequest) -> JsonResponse:
    """Repeat a raw statement with inlined literal values five times."""
    with connection.cursor() as cursor:
        for value in ("alpha-secret", "beta-secret", "gamma", "delta", "epsilon"):
            cursor.execute(f"SELECT '{value}' || 'x', {len(value)}")
    return JsonResponse({})


def raw(request: HttpRequest) -> JsonResponse:
    """Run one raw cursor statement."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({})


def own(request: HttpRequest) -> JsonResponse:
    """Read perfdash's own table (not counted as the app's statements)."""
    return JsonResponse({"rows": RequestStatMinute.objects.count()})


def upstream(request: HttpRequest) -> JsonResponse:
    """Call a pretend reply backend, timed as upstream."""
    with track_upstream() as timer:
        timer.mark_first_token()
    return JsonResponse({})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    """Stream three chunks, running one statement while streaming."""

    def chunks() -> Iterator[bytes]:
        yield b"one "
        with connection.cursor() as cursor:
            cursor.execute("SELECT 2")
        yield b"two "
        yield b"three"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


class NoteView(APIView):
    """Store a message for the token's user (stands in for a chat turn's write)."""

    def post(self, request: Request) -> Response:
        owner_id = int(request.auth["user_id"])  # type: ignore[index]
        text = str(dict(request.data)["message"])
        conversation = Conversation.objects.create(
            owner_id=owner_id, title="perfdash note"
        )
        Message.objects.create(
            conversation=conversation,
            owner_id=owner_id,
            role=Message.Role.USER,
            content=text,
            seq=1,
        )
        return Response({"conversation_id": conversation.pk})
