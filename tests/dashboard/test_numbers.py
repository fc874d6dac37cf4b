"""The numbers on the pages and in the JSON API are the selectors' numbers."""

import re
from html.parser import HTMLParser

import pytest

from perfdash import selectors as perf
from perfdash.dashboard import selectors as dash
from perfdash.dashboard.ranges import parse_range
from tests.dashboard.conftest import CHAT, LIST, T0, seed_metrics

pytestmark = pytest.mark.django_db


class _Cells(HTMLParser):
    """Collect tile values and the route table's cells from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles: dict[str, dict[str, str]] = {}
        self.rows: list[list[str]] = []
        self._tile: str | None = None
        self._field: str | None = None
        self._in_routes = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        if (attr.get("id") or "").startswith("tile-"):
            self._tile = attr["id"][5:]
            self.tiles[self._tile] = {"raw": attr.get("data-value", "")}
        elif self._tile and tag == "div" and attr.get("class") == "value":
            self._field = "display"
        if attr.get("id") == "routes":
            self._in_routes = True
        if self._in_routes and tag == "tbody":
            self.rows = []
        if self._in_routes and tag == "tr":
            self.rows.append([])
        if self._in_routes and tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table" and self._in_routes:
            self._in_routes = False
        if tag == "div" and self._field:
            self._field = None

    def handle_data(self, data):
        if self._field and self._tile:
            self.tiles[self._tile]["display"] = data.strip()
        if self._cell is not None:
            self._cell.append(data)


def _parse(content: bytes) -> _Cells:
    cells = _Cells()
    cells.feed(content.decode())
    return cells


def test_overview_tiles_equal_the_selectors(staff_client, seeded):
    response = staff_client.get(f"/admin/performance/?{seeded.query()}")
    tiles = _parse(response.content).tiles

    summary = perf.summary(start=seeded.start, end=seeded.end)
    chat = perf.summary(start=seeded.start, end=seeded.end, route=CHAT)
    expected = {
        "chat_p95": (chat.total_p95_ms, dash.milliseconds(chat.total_p95_ms)),
        "cache_hit_ratio": (
            summary.cache_hit_ratio,
            dash.percent(summary.cache_hit_ratio),
        ),
        "statement_p95": (
            summary.statement_p95_ms,
            dash.milliseconds(summary.statement_p95_ms),
        ),
        "pool_utilization": (
            summary.pool_utilization,
            dash.percent(summary.pool_utilization),
        ),
        "error_rate": (summary.error_rate, dash.percent(summary.error_rate, digits=2)),
        "request_rate": (summary.rate_per_second, dash.rate(summary.rate_per_second)),
    }
    for key, (raw, display) in expected.items():
        assert raw is not None, key
        assert float(tiles[key]["raw"]) == pytest.approx(raw, rel=1e-9), key
        assert tiles[key]["display"] == display, key
    # The seeded mix: 5xx on the chat route only, so the error tile fails.
    assert summary.errors == 10
    assert "fail" in response.content.decode().split('id="tile-error_rate"')[0][-80:]


def test_route_table_equals_the_selectors(staff_client, seeded):
    response = staff_client.get(f"/admin/performance/?{seeded.query()}")
    rows = {row[0]: row for row in _parse(response.content).rows if row}

    table = perf.route_table(start=seeded.start, end=seeded.end)
    assert set(rows) == {row.route for row in table}
    for row in table:
        assert rows[row.route] == [
            row.route,
            str(row.requests),
            dash.percent(row.error_rate, digits=2),
            dash.milliseconds(row.total_p50_ms),
            dash.milliseconds(row.total_p95_ms),
            dash.milliseconds(row.total_p99_ms),
            dash.number(row.statements_per_request),
            dash.percent(row.cache_hit_ratio),
        ]
    sent = sum(n for (route, _m, _s), n in seeded.requests.items() if route == CHAT)
    assert int(rows[CHAT][1]) == sent


def test_route_table_sorts_by_any_column(staff_client, seeded):
    ascending = staff_client.get(
        f"/admin/performance/?{seeded.query()}&sort=requests&dir=asc"
    )
    counts = [int(row[1]) for row in _parse(ascending.content).rows if row]
    assert counts == sorted(counts) and len(counts) == 3

    by_p95 = staff_client.get(
        f"/admin/performance/?{seeded.query()}&sort=total_p95_ms&dir=desc"
    )
    routes = [row[0] for row in _parse(by_p95.content).rows if row]
    table = perf.route_table(start=seeded.start, end=seeded.end)
    expected = sorted(table, key=lambda r: r.total_p95_ms or 0, reverse=True)
    assert routes == [row.route for row in expected]


def test_route_page_shows_that_routes_numbers(staff_client, seeded):
    response = staff_client.get(
        f"/admin/performance/route/?route={LIST}&{seeded.query()}"
    )
    assert response.status_code == 200
    tiles = _parse(response.content).tiles
    summary = perf.summary(start=seeded.start, end=seeded.end, route=LIST)
    assert float(tiles["chat_p95"]["raw"]) == pytest.approx(summary.total_p95_ms)
    assert tiles["request_rate"]["display"] == dash.rate(summary.rate_per_second)
    # The N+1 suspect was seen on this route; the slow statement was not.
    content = response.content.decode()
    assert "auth_user" in content
    assert "conversations_message" not in content


def test_charts_draw_every_step_of_the_selectors_series(staff_client, seeded):
    response = staff_client.get(f"/admin/performance/?{seeded.query()}")
    content = response.content.decode()
    time_range = parse_range(
        {
            "range": "custom",
            "start": seeded.start.isoformat(),
            "end": seeded.end.isoformat(),
        }
    )
    points, processes = dash.chart_series(time_range=time_range, route=None)
    drawn = dict(re.findall(r'id="chart-(\w+)" data-points="(\d+)"', content))
    assert int(drawn["request_rate"]) == len(points) == 30
    assert int(drawn["latency"]) == 3 * sum(1 for p in points if p.requests)
    assert int(drawn["cpu"]) == len(processes) == 60
    assert 'class="no_data"' not in content


def test_summary_endpoint_equals_the_selector(staff_client, seeded):
    body = staff_client.get(f"/perfdash/api/summary?{seeded.query()}").json()
    summary = perf.summary(start=seeded.start, end=seeded.end)
    for name in ("requests", "errors", "db_statements", "cache_hits"):
        assert body["summary"][name] == getattr(summary, name)
    for name in ("total_p95_ms", "cache_hit_ratio", "pool_utilization"):
        assert body["summary"][name] == pytest.approx(getattr(summary, name))
    tiles = {tile["key"]: tile for tile in body["tiles"]}
    assert tiles["error_rate"]["passed"] is False
    assert tiles["chat_p95"]["raw"] == pytest.approx(
        perf.summary(start=seeded.start, end=seeded.end, route=CHAT).total_p95_ms
    )


def test_routes_and_series_endpoints_equal_the_selectors(staff_client, seeded):
    routes = staff_client.get(f"/perfdash/api/routes?{seeded.query()}").json()
    table = perf.route_table(start=seeded.start, end=seeded.end)
    assert [(r["route"], r["requests"]) for r in routes["routes"]] == [
        (r.route, r.requests) for r in table
    ]

    series = staff_client.get(f"/perfdash/api/series?{seeded.query()}").json()
    assert series["range"]["step_seconds"] == 60
    assert sum(p["requests"] for p in series["points"]) == sum(seeded.requests.values())


def test_statements_endpoint_lists_fingerprints(staff_client, seeded):
    body = staff_client.get(f"/perfdash/api/statements?{seeded.query()}").json()
    assert [row["route"] for row in body["slow"]] == [CHAT]
    assert [row["route"] for row in body["n_plus_one"]] == [LIST]
    assert "42" not in body["slow"][0]["sql"]


def test_empty_range_shows_no_data_rather_than_zeroes(staff_client, db):
    seed_metrics(T0, minutes=2)
    response = staff_client.get(
        "/admin/performance/?range=custom&start=2026-01-01T00:00&end=2026-01-01T01:00"
    )
    tiles = _parse(response.content).tiles
    assert tiles["chat_p95"]["display"] == "–"
    assert "no data" in response.content.decode()
