"""Staff-only JSON endpoints: the dashboard's data for other tools.

Each answers for a range picked like the pages (``range`` preset, or
``range=custom`` with ``start`` and ``end``) and returns the same numbers as
the pages, read by the same selectors. Staff log in with the admin session or
send a JWT access token of a staff account.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_dataclasses.serializers import DataclassSerializer
from rest_framework_simplejwt.authentication import JWTAuthentication

from perfdash import selectors as perf
from perfdash.dashboard import selectors
from perfdash.dashboard.ranges import PRESETS, TimeRange, parse_range
from perfdash.models import RequestStatBase


@dataclass(frozen=True, slots=True)
class RangeOut:
    start: datetime
    end: datetime
    preset: str
    step_seconds: int


@dataclass(frozen=True, slots=True)
class SummaryOut:
    range: RangeOut
    summary: perf.Summary
    tiles: list[selectors.Tile]
    freshness: datetime | None


@dataclass(frozen=True, slots=True)
class RoutesOut:
    range: RangeOut
    routes: list[perf.RouteRow]


@dataclass(frozen=True, slots=True)
class SeriesOut:
    range: RangeOut
    route: str | None
    points: list[perf.SeriesPoint]
    processes: list[perf.ProcessPoint]


@dataclass(frozen=True, slots=True)
class StatementsOut:
    range: RangeOut
    slow: list[perf.StatementRow]
    n_plus_one: list[perf.StatementRow]


def _serializer(kind: type) -> type[DataclassSerializer]:
    return type(
        f"{kind.__name__}Serializer",
        (DataclassSerializer,),
        {"Meta": type("Meta", (), {"dataclass": kind})},
    )


SummarySerializer = _serializer(SummaryOut)
RoutesSerializer = _serializer(RoutesOut)
SeriesSerializer = _serializer(SeriesOut)
StatementsSerializer = _serializer(StatementsOut)

RANGE_PARAMETERS = [
    OpenApiParameter(
        "range",
        OpenApiTypes.STR,
        enum=[*PRESETS, "custom"],
        description="A preset ending now, or 'custom' with start and end. Default 1h.",
    ),
    OpenApiParameter(
        "start", OpenApiTypes.DATETIME, description="Custom range start (UTC)."
    ),
    OpenApiParameter(
        "end", OpenApiTypes.DATETIME, description="Custom range end (UTC)."
    ),
]
ROUTE_PARAMETER = OpenApiParameter(
    "route",
    OpenApiTypes.STR,
    description="One route template, e.g. api/<int:user_id>/chat; all if left out.",
)
REFUSALS = {
    400: OpenApiResponse(description="invalid_range (error shape)"),
    401: OpenApiResponse(description="Not logged in (error shape)"),
    403: OpenApiResponse(description="Not a staff account (error shape)"),
}


def _range_out(time_range: TimeRange) -> RangeOut:
    _start, step = selectors.chart_window(time_range)
    return RangeOut(
        start=time_range.start,
        end=time_range.end,
        preset=time_range.preset,
        step_seconds=int(step.total_seconds()),
    )


def _route(request: Request) -> str | None:
    return request.query_params.get("route", "").strip() or None


class StaffJWTAuthentication(JWTAuthentication):
    """JWT that loads the account, so staff rights come from the database.

    The API's default (stateless) JWT trusts the token alone and so knows no
    staff flag.
    """


class StaffJWTScheme(SimpleJWTScheme):
    """Name the loading JWT apart from the stateless one in the schema."""

    target_class = "perfdash.dashboard.api.StaffJWTAuthentication"
    name = "staffJwtAuth"


class StaffAPIView(APIView):
    """Base of the dashboard's JSON endpoints: staff only, GET only."""

    authentication_classes = [StaffJWTAuthentication, SessionAuthentication]
    permission_classes = [IsAdminUser]
    http_method_names = ["get", "head", "options"]


class SummaryView(StaffAPIView):
    @extend_schema(
        tags=["perfdash"],
        summary="Figures and target tiles for a range",
        parameters=[*RANGE_PARAMETERS, ROUTE_PARAMETER],
        responses={200: SummarySerializer, **REFUSALS},
    )
    def get(self, request: Request) -> Response:
        time_range = parse_range(request.query_params)
        route = _route(request)
        summary, chat, fresh = selectors.range_summary(
            time_range=time_range, route=route
        )
        tiles = selectors.build_tiles(
            summary=summary, chat=chat, route=route, fresh=fresh, now=timezone.now()
        )
        out = SummaryOut(
            range=_range_out(time_range), summary=summary, tiles=tiles, freshness=fresh
        )
        return Response(SummarySerializer(out).data)


class RoutesView(StaffAPIView):
    @extend_schema(
        tags=["perfdash"],
        summary="Per-route table for a range",
        parameters=[
            *RANGE_PARAMETERS,
            OpenApiParameter(
                "sort", OpenApiTypes.STR, enum=sorted(selectors.SORT_KEYS)
            ),
            OpenApiParameter("dir", OpenApiTypes.STR, enum=["asc", "desc"]),
        ],
        responses={200: RoutesSerializer, **REFUSALS},
    )
    def get(self, request: Request) -> Response:
        time_range = parse_range(request.query_params)
        sort, descending = selectors.parse_sort(
            request.query_params.get("sort"), request.query_params.get("dir")
        )
        rows = selectors.sort_routes(
            perf.route_table(start=time_range.start, end=time_range.end),
            sort=sort,
            descending=descending,
        )
        out = RoutesOut(range=_range_out(time_range), routes=rows)
        return Response(RoutesSerializer(out).data)


class SeriesView(StaffAPIView):
    @extend_schema(
        tags=["perfdash"],
        summary="Time series behind the charts",
        description="One point per step; the first step starts at the range "
        "start rounded down to the step.",
        parameters=[*RANGE_PARAMETERS, ROUTE_PARAMETER],
        responses={200: SeriesSerializer, **REFUSALS},
    )
    def get(self, request: Request) -> Response:
        time_range = parse_range(request.query_params)
        route = _route(request)
        points, processes = selectors.chart_series(
            time_range=time_range,
            route=route,
            sketch_fields=RequestStatBase.SKETCH_FIELDS,
        )
        out = SeriesOut(
            range=_range_out(time_range),
            route=route,
            points=points,
            processes=processes,
        )
        return Response(SeriesSerializer(out).data)


class StatementsView(StaffAPIView):
    @extend_schema(
        tags=["perfdash"],
        summary="Slow statements and N+1 suspects seen in a range",
        parameters=[*RANGE_PARAMETERS, ROUTE_PARAMETER],
        responses={200: StatementsSerializer, **REFUSALS},
    )
    def get(self, request: Request) -> Response:
        time_range = parse_range(request.query_params)
        route = _route(request)
        start, end = time_range.start, time_range.end
        out = StatementsOut(
            range=_range_out(time_range),
            slow=perf.slow_statements(start=start, end=end, route=route),
            n_plus_one=perf.n_plus_one_suspects(start=start, end=end, route=route),
        )
        return Response(StatementsSerializer(out).data)
