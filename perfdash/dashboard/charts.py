"""Server-side SVG line charts for the dashboard.

The charts are drawn by pygal (a maintained SVG charting library) in the
request, so the page needs no JavaScript library and no network: the SVG is
inlined into the HTML. pygal's tooltip script normally comes from a remote
address; ``js=[]`` leaves it out.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pygal
from pygal.style import Style

# Colours that stay apart for the few series a chart has (p50/p95/p99, the
# four time components); the last is kept for a target line.
_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#333",
    foreground_strong="#333",
    foreground_subtle="#999",
    colors=("#417690", "#e08e0b", "#ba2121", "#5b8c3a", "#7a4d9e", "#888888"),
    font_family="-apple-system, Segoe UI, Roboto, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=13,
    no_data_font_size=18,
)


@dataclass(frozen=True, slots=True)
class Chart:
    """One rendered chart: its key (for tests and anchors), title and SVG."""

    key: str
    title: str
    svg: str
    points: int
    series: int  # data series, drawn first; a target line comes after them


# A series with at most this many points also gets dots, so a lone point
# between gaps stays visible.
DOTS_UP_TO = 40


def _time_format(step: timedelta) -> str:
    if step >= timedelta(days=1):
        return "%m-%d"
    return "%m-%d %Hh" if step >= timedelta(hours=1) else "%H:%M"


def line_chart(
    *,
    key: str,
    title: str,
    times: Sequence[datetime],
    series: Mapping[str, Sequence[float | None]],
    step: timedelta,
    unit: str = "",
    target: float | None = None,
) -> Chart:
    """Return a line chart of series sharing one time axis; None leaves a gap."""
    fmt = _time_format(step)
    entries = len(series) + (target is not None)
    chart = pygal.DateTimeLine(
        js=[],
        style=_STYLE,
        disable_xml_declaration=True,
        width=480,
        height=260,
        margin=6,
        dots_size=2.5,
        allow_interruptions=True,
        show_minor_x_labels=False,
        x_labels_major_count=6,
        show_x_guides=False,
        truncate_legend=24,
        truncate_label=-1,
        show_legend=entries > 1,
        # pygal sizes a bottom legend for full rows only: one row of up to
        # four entries fits, more go to the side.
        legend_at_bottom=entries <= 4,
        legend_at_bottom_columns=entries,
        include_x_axis=True,
        x_value_formatter=lambda moment: moment.strftime(fmt),
        value_formatter=lambda value: f"{value:.3g}{unit}",
        no_data_text="No data in this range",
    )
    chart.title = f"{title} ({unit.strip()})" if unit.strip() else title
    points = 0
    for name, values in series.items():
        pairs = [(moment, value) for moment, value in zip(times, values, strict=True)]
        present = sum(value is not None for _, value in pairs)
        points += present
        chart.add(name, pairs, show_dots=present <= DOTS_UP_TO)
    if target is not None and points and times:
        chart.add(
            "target",
            [(times[0], target), (times[-1], target)],
            stroke_style={"dasharray": "4, 4"},
            show_dots=False,
        )
    return Chart(
        key=key,
        title=title,
        svg=chart.render(is_unicode=True),
        points=points,
        series=len(series),
    )
