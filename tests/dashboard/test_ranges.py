"""The range picker: presets, custom ranges, bad input, chart steps."""

from datetime import UTC, datetime, timedelta

import pytest

from perfdash.dashboard.ranges import InvalidRange, TimeRange, parse_range
from perfdash.dashboard.selectors import chart_window

NOW = datetime(2026, 3, 2, 12, 34, 56, tzinfo=UTC)


@pytest.mark.parametrize(
    ("preset", "span", "step"),
    [
        ("15m", timedelta(minutes=15), timedelta(minutes=1)),
        ("1h", timedelta(hours=1), timedelta(minutes=1)),
        ("6h", timedelta(hours=6), timedelta(minutes=5)),
        ("24h", timedelta(hours=24), timedelta(hours=1)),
        ("7d", timedelta(days=7), timedelta(hours=1)),
    ],
)
def test_presets_end_after_the_current_minute(preset, span, step):
    time_range = parse_range({"range": preset}, now=NOW)
    assert time_range.end == datetime(2026, 3, 2, 12, 35, tzinfo=UTC)
    assert time_range.span == span
    assert time_range.step == step
    assert time_range.refresh_seconds in (30, 60)


def test_default_is_the_last_hour():
    assert parse_range({}, now=NOW).preset == "1h"


def test_custom_range_is_read_as_utc_and_stands_still():
    time_range = parse_range(
        {"range": "custom", "start": "2026-03-01T08:00", "end": "2026-03-01T09:30"},
        now=NOW,
    )
    assert time_range.start == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert time_range.end == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert time_range.refresh_seconds is None
    assert parse_range(time_range.query(), now=NOW) == time_range


def test_custom_range_keeps_an_offset():
    time_range = parse_range(
        {
            "range": "custom",
            "start": "2026-03-01T10:00+02:00",
            "end": "2026-03-01T11:00+02:00",
        }
    )
    assert time_range.start == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "params",
    [
        {"range": "2h"},
        {"range": "custom"},
        {"range": "custom", "start": "yesterday", "end": "2026-03-01T09:00"},
        {"range": "custom", "start": "2026-03-01T09:00", "end": "2026-03-01T09:00"},
        {"range": "custom", "start": "2026-03-01T10:00", "end": "2026-03-01T09:00"},
        {"range": "custom", "start": "2020-01-01T00:00", "end": "2026-03-01T00:00"},
        {"range": "custom", "start": "2026-02-30T10:00", "end": "2026-03-01T09:00"},
    ],
)
def test_bad_ranges_are_refused(params):
    with pytest.raises(InvalidRange):
        parse_range(params, now=NOW)


def test_long_custom_ranges_get_coarse_steps():
    time_range = TimeRange(start=NOW - timedelta(days=90), end=NOW, preset="custom")
    assert time_range.step == timedelta(days=1)
    assert time_range.span / time_range.step <= 180


def test_chart_window_aligns_to_the_step():
    start, step = chart_window(parse_range({"range": "7d"}, now=NOW))
    assert step == timedelta(hours=1)
    assert start == datetime(2026, 2, 23, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["range=5y", "range=custom&start=2026-03-02T10:00&end=2026-03-02T09:00"],
)
def test_bad_range_is_a_400_on_pages_and_endpoints(staff_client, query):
    page = staff_client.get(f"/admin/performance/?{query}")
    assert page.status_code == 400
    assert b'id="range-error"' in page.content
    api = staff_client.get(f"/perfdash/api/summary?{query}")
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "invalid_range"
