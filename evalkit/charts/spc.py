"""A process over time, drawn as NHS Making Data Count draws it, with a text description.

Points are coloured by what they mean for the outcome, using its ``better``
direction: blue for a special cause in the improving direction, orange for
one in the concerning direction, grey for common cause (the Making Data Count
colours, in their Okabe-Ito shades so they stay apart for the common kinds
of colour blindness). Colour is never the only sign: each kind also has its
own shape and its own legend words, and the description says it all in text.
Limits are drawn for each limit set, with the change marked between them.
"""

from __future__ import annotations

import textwrap
from typing import Literal

import altair as alt
import pandas as pd

from evalkit.quality.spc_process import CHART_NAMES, PointType, ProcessChart
from evalkit.quality.spc_words import (
    ASSURANCE,
    causes_text,
    limits_labels,
    number,
    trial_warning,
)

#: Legend words, colour and shape for each kind of point.
POINT_MARKS: dict[PointType, tuple[str, str, str]] = {
    "common cause": ("common cause (ordinary variation)", "#767676", "circle"),
    "improvement": ("special cause: improvement", "#0072B2", "square"),
    "concern": ("special cause: concern", "#E69F00", "diamond"),
}
#: Chart text is never smaller than this (pixels).
TEXT_SIZE = 11

_LINE_COLOUR = "#000000"
_WIDTH, _HEIGHT = 480, 260


def spc_chart(
    data: ProcessChart,
    *,
    label: str,
    unit: str = "",
    target: float | None = None,
    suppressed_periods: int | None = None,
    min_count: int = 10,
) -> alt.LayerChart:
    """Return one process's chart over time, with a text description of what it shows.

    The mean of each limit set is a solid line and its process limits dashed;
    a rule marks the change where the limits are recalculated; the target
    (if any) is dotted and labelled as context. ``target`` and
    ``suppressed_periods`` default to what the chart holds.
    """
    target = data.target if target is None else target
    hidden = data.suppressed_periods if suppressed_periods is None else suppressed_periods
    axis_title = f"{label} ({unit})" if unit else label
    points = _points_frame(data)
    x = alt.X(
        "period:O",
        title="Period",
        sort=list(data.periods),
        axis=alt.Axis(
            labelAngle=0 if len(data.periods) <= 12 else -45,
            labelFontSize=TEXT_SIZE,
            titleFontSize=TEXT_SIZE,
        ),
    )
    y = alt.Y(
        "value:Q",
        title=axis_title,
        scale=alt.Scale(zero=False),
        axis=alt.Axis(labelFontSize=TEXT_SIZE, titleFontSize=TEXT_SIZE),
    )
    base = alt.Chart(points)
    layers: list[alt.Chart | alt.LayerChart] = [
        base.mark_line(color="#767676", strokeWidth=1.5).encode(x=x, y=y, detail="segment:N"),
        _limit_lines(points, x, axis_title),
        _dots(points, x, axis_title, label),
        _segment_labels(data, unit, x, axis_title),
    ]
    if data.change_at is not None:
        layers.append(_change_rule(data.change_at, x))
    if target is not None:
        layers.append(_target(target, axis_title))
    notes = _notes(data, hidden, min_count)
    chart: alt.LayerChart = alt.LayerChart(layer=layers).properties(
        title=alt.TitleParams(
            f"{label} over time: {data.process}",
            subtitle=[
                f"{CHART_NAMES[data.kind][:1].upper()}{CHART_NAMES[data.kind][1:]}.",
                "Solid line: mean. Dashed lines: process limits, the range ordinary",
                "variation covers. Blue squares: special cause, improvement. Orange",
                "diamonds: special cause, concern. Grey circles: common cause.",
                *[line for note in notes for line in textwrap.wrap(note, 72)],
            ],
            anchor="start",
            fontSize=14,
            subtitleFontSize=TEXT_SIZE,
        ),
        width=_WIDTH,
        height=_HEIGHT,
        description=_description(data, label, unit, target) + "".join(f" {n}" for n in notes),
    )
    return chart


def _notes(data: ProcessChart, hidden: int, min_count: int) -> list[str]:
    notes = [f"Latest point: {data.variation}."]
    if data.assurance is not None:
        notes.append(f"Against the target (context only): {ASSURANCE[data.assurance]}.")
    warning = trial_warning(data)
    if warning:
        notes.append(warning)
    if hidden:
        periods = "1 period" if hidden == 1 else f"{hidden} periods"
        shown = "is" if hidden == 1 else "are"
        notes.append(f"{periods} with fewer than {min_count} records {shown} not shown.")
    return notes


def _points_frame(data: ProcessChart) -> pd.DataFrame:
    types = data.point_types()
    segment = [s.label for s in data.segments for _ in range(s.start, s.end + 1)]
    return pd.DataFrame(
        {
            "period": list(data.periods),
            "value": list(data.values),
            "records": list(data.counts),
            "type": [POINT_MARKS[t][0] for t in types],
            "segment": segment,
            "centre": list(data.centre),
            "lower": list(data.lower),
            "upper": list(data.upper),
        }
    )


def _dots(points: pd.DataFrame, x: alt.X, axis_title: str, label: str) -> alt.Chart:
    shown = [words for words, _, _ in POINT_MARKS.values() if (points["type"] == words).any()]
    marks = {words: (colour, shape) for words, colour, shape in POINT_MARKS.values()}
    legend = alt.Legend(
        orient="bottom",
        direction="vertical",
        labelLimit=400,
        labelFontSize=TEXT_SIZE,
        titleFontSize=TEXT_SIZE,
    )
    dots: alt.Chart = (
        alt.Chart(points)
        .mark_point(filled=True, size=80, opacity=1)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=axis_title),
            color=alt.Color(
                "type:N",
                title="Points",
                scale=alt.Scale(domain=shown, range=[marks[s][0] for s in shown]),
                legend=legend,
            ),
            shape=alt.Shape(
                "type:N", scale=alt.Scale(domain=shown, range=[marks[s][1] for s in shown])
            ),
            tooltip=[
                alt.Tooltip("period:O", title="Period"),
                alt.Tooltip("value:Q", title=label, format=".3g"),
                alt.Tooltip("type:N", title="Point"),
                alt.Tooltip("segment:N", title="Limits"),
            ],
        )
        .properties(name="points")
    )
    return dots


def _limit_lines(points: pd.DataFrame, x: alt.X, axis_title: str) -> alt.LayerChart:
    """Return each limit set's mean (solid) and limits (dashed), broken at the change."""
    long = points[["period", "segment", "centre", "lower", "upper"]].melt(
        id_vars=["period", "segment"], var_name="line", value_name="level"
    )
    long["series"] = long["segment"] + " " + long["line"]
    base = alt.Chart(long)
    y = alt.Y("level:Q", title=axis_title)
    # limits that follow each point's denominator (p- and u-charts) step from point to point
    mean = base.transform_filter(alt.datum.line == "centre").mark_line(
        color=_LINE_COLOUR, strokeWidth=1.2, interpolate="step"
    )
    limits = base.transform_filter(alt.datum.line != "centre").mark_line(
        color=_LINE_COLOUR, strokeWidth=1, strokeDash=[6, 4], interpolate="step"
    )
    layer: alt.LayerChart = alt.LayerChart(
        layer=[
            mean.encode(x=x, y=y, detail="series:N"),
            limits.encode(x=x, y=y, detail="series:N"),
        ]
    ).properties(name="limits")
    return layer


def _segment_labels(data: ProcessChart, unit: str, x: alt.X, axis_title: str) -> alt.Chart:
    """Return each limit set's label ("before the change: mean 164 days") at its start."""
    frame = pd.DataFrame(
        {
            "period": [data.periods[s.start] for s in data.segments],
            "y": [max(s.upper) for s in data.segments],
            "label": limits_labels(data, unit),
        }
    )
    text: alt.Chart = (
        alt.Chart(frame)
        .mark_text(align="left", baseline="bottom", dx=2, dy=-3, fontSize=TEXT_SIZE)
        .encode(x=x, y=alt.Y("y:Q", title=axis_title), text="label:N")
        .properties(name="limit-labels")
    )
    return text


def _change_rule(period: str, x: alt.X) -> alt.LayerChart:
    frame = pd.DataFrame({"period": [period], "label": ["change: limits recalculated"]})
    base = alt.Chart(frame)
    rule = base.mark_rule(color=_LINE_COLOUR, strokeDash=[2, 2], strokeWidth=1.5).encode(x=x)
    text = base.mark_text(
        align="left", baseline="bottom", dx=3, fontSize=TEXT_SIZE, color=_LINE_COLOUR
    ).encode(x=x, y=alt.value(_HEIGHT - 14), text="label:N")
    layer: alt.LayerChart = alt.LayerChart(layer=[rule, text]).properties(name="change")
    return layer


def _target(target: float, axis_title: str) -> alt.LayerChart:
    frame = pd.DataFrame({"y": [target], "label": ["target (context)"]})
    base = alt.Chart(frame)
    y = alt.Y("y:Q", title=axis_title)
    rule = base.mark_rule(color=_LINE_COLOUR, strokeDash=[1, 3], strokeWidth=1.5).encode(y=y)
    baseline: Literal["top"] = "top"
    text = base.mark_text(
        align="right", baseline=baseline, dy=2, fontSize=TEXT_SIZE, color=_LINE_COLOUR
    ).encode(x=alt.value(_WIDTH), y=y, text="label:N")
    layer: alt.LayerChart = alt.LayerChart(layer=[rule, text]).properties(name="target")
    return layer


def _description(data: ProcessChart, label: str, unit: str, target: float | None) -> str:
    units = f" {unit}" if unit and unit != "%" else unit
    parts = [
        f"{label}, {data.process}, in {len(data.values)} periods from {data.periods[0]} "
        f"to {data.periods[-1]} ({CHART_NAMES[data.kind]}).",
    ]
    for segment, text in zip(data.segments, limits_labels(data, unit), strict=True):
        low, high = min(segment.lower), max(segment.upper)
        varies = "" if data.kind == "xmr" else ", varying with each period's denominator"
        parts.append(
            f"{text[:1].upper()}{text[1:]}; process limits {number(low)} to "
            f"{number(high)}{units}{varies}."
        )
    if data.change_at is not None:
        parts.append(f"The limits were recalculated at the change, in {data.change_at}.")
    parts.append(causes_text(data))
    if target is not None:
        parts.append(f"Target {number(target)}{units}, shown for context only.")
    return " ".join(parts)
