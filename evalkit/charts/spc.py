"""The XmR (individuals) chart: an outcome over time, its mean, limits and special causes.

Special causes are marked by shape and an Okabe-Ito colour that names the
rule, never by a good/bad colour: a special cause is a question for the team,
and whether "up" is better depends on the outcome.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import pandas as pd

from evalkit.charts import NEUTRAL_COLOUR
from evalkit.quality.spc import Rule, XmR

COMMON_CAUSE = "common cause"

#: Legend label, colour and shape for each rule; listed in the order a point takes its mark
#: when it belongs to more than one cause.
RULE_MARKS: dict[Rule, tuple[str, str, str]] = {
    "outside-limits": ("special cause: outside the limits", "#E69F00", "diamond"),
    "two-of-three": ("special cause: two of three near a limit", "#56B4E9", "triangle-up"),
    "shift": ("special cause: shift", "#0072B2", "square"),
    "trend": ("special cause: trend", "#CC79A7", "cross"),
}

_LINE_COLOUR = "#000000"


def spc_chart(
    data: XmR,
    *,
    label: str,
    unit: str = "",
    target: float | None = None,
    suppressed_periods: int = 0,
    min_count: int = 10,
) -> alt.LayerChart:
    """Return the XmR chart of an outcome over time, with a text description of what it shows.

    The mean is a solid line, the process limits dashed, the target (if any)
    dotted and labelled as context: it plays no part in finding special causes.
    ``suppressed_periods`` (from :func:`evalkit.quality.spc.outcome_over_time`,
    periods with fewer than ``min_count`` records) are named in the subtitle.
    """
    axis_title = f"{label} ({unit})" if unit else label
    points = _points_frame(data)
    x = alt.X(
        "period:O",
        title="Period",
        sort=list(data.periods),
        axis=alt.Axis(labelAngle=0 if len(data.periods) <= 12 else -45),
    )
    base = alt.Chart(points)
    line = base.mark_line(color=NEUTRAL_COLOUR, strokeWidth=1.5).encode(
        x=x, y=alt.Y("value:Q", title=axis_title, scale=alt.Scale(zero=False))
    )
    shown = [COMMON_CAUSE] + [
        RULE_MARKS[rule][0] for rule in RULE_MARKS if (points["rule"] == rule).any()
    ]
    marks = {COMMON_CAUSE: (NEUTRAL_COLOUR, "circle")} | {
        legend: (colour, shape) for legend, colour, shape in RULE_MARKS.values()
    }
    dots = base.mark_point(filled=True, size=70, opacity=1).encode(
        x=x,
        y=alt.Y("value:Q", title=axis_title),
        color=alt.Color(
            "pattern:N",
            title="Pattern",
            scale=alt.Scale(domain=shown, range=[marks[s][0] for s in shown]),
            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400),
        ),
        shape=alt.Shape(
            "pattern:N", scale=alt.Scale(domain=shown, range=[marks[s][1] for s in shown])
        ),
        tooltip=[
            alt.Tooltip("period:O", title="Period"),
            alt.Tooltip("value:Q", title=label, format=".3g"),
            alt.Tooltip("causes:N", title="Special causes"),
        ],
    )
    layers: list[alt.Chart | alt.LayerChart] = [
        line,
        dots,
        _reference("mean", [data.mean], "mean", [1, 0], axis_title),
        # The lower limit's label sits under its line, away from the points.
        _reference(
            "process-limits",
            [data.lower, data.upper],
            "process limits",
            [6, 4],
            axis_title,
            below=[True, False],
        ),
    ]
    if target is not None:
        layers.append(_reference("target", [target], "target (context)", [2, 3], axis_title))
    chart: alt.LayerChart = alt.LayerChart(layer=layers).properties(
        title=alt.TitleParams(
            f"{label} over time: individuals (XmR) chart",
            subtitle=[
                "Solid line: mean. Dashed lines: process limits (mean ± 2.66 × mean moving range);",
                "a stable process keeps almost all its points inside them. Marked points are",
                "special causes: patterns worth a question, not a verdict.",
                *_suppressed_note(suppressed_periods, min_count),
            ],
            anchor="start",
        ),
        width=480,
        height=260,
        description=_description(data, label, unit, target)
        + "".join(f" {note}" for note in _suppressed_note(suppressed_periods, min_count)),
    )
    return chart


def _suppressed_note(suppressed: int, min_count: int) -> list[str]:
    if not suppressed:
        return []
    return [f"{suppressed} period(s) with fewer than {min_count} records are not shown."]


def _points_frame(data: XmR) -> pd.DataFrame:
    rules: list[list[Rule]] = [[] for _ in data.values]
    for cause in data.causes:
        for i in data.points_in(cause):
            if cause.rule not in rules[i]:
                rules[i].append(cause.rule)
    # A point in several causes takes the mark of the first rule in RULE_MARKS order.
    first = [next((r for r in RULE_MARKS if r in found), None) for found in rules]
    return pd.DataFrame(
        {
            "period": list(data.periods),
            "value": list(data.values),
            "rule": [r or "" for r in first],
            "pattern": [RULE_MARKS[r][0] if r else COMMON_CAUSE for r in first],
            "causes": [", ".join(found) if found else "none" for found in rules],
        }
    )


def _reference(
    name: str,
    levels: list[float],
    text: str,
    dash: list[int],
    axis_title: str,
    *,
    below: list[bool] | None = None,
) -> alt.LayerChart:
    """Return horizontal lines at the given levels, each labelled at its left end."""
    under = below or [False] * len(levels)
    frame = pd.DataFrame({"y": levels, "label": [text] * len(levels), "below": under})
    base = alt.Chart(frame)
    y = alt.Y("y:Q", title=axis_title)
    rule = base.mark_rule(color=_LINE_COLOUR, strokeDash=dash, strokeWidth=1).encode(y=y)
    layers: list[alt.Chart] = [rule]
    placements: list[tuple[bool, Literal["bottom", "top"], int]] = [
        (False, "bottom", -2),
        (True, "top", 2),
    ]
    for is_below, baseline, dy in placements:
        if is_below not in under:
            continue
        layers.append(
            base.transform_filter(alt.datum.below == is_below)
            .mark_text(align="left", baseline=baseline, dx=3, dy=dy, fontSize=10)
            .encode(x=alt.value(0), y=y, text="label:N", color=alt.value(_LINE_COLOUR))
        )
    layer: alt.LayerChart = alt.LayerChart(layer=layers).properties(name=name)
    return layer


def _description(data: XmR, label: str, unit: str, target: float | None) -> str:
    units = f" {unit}" if unit else ""
    parts = [
        f"{label} in {len(data.values)} periods from {data.periods[0]} to {data.periods[-1]}.",
        f"Mean {data.mean:.3g}{units}; process limits {data.lower:.3g} to {data.upper:.3g}{units}.",
    ]
    if data.causes:
        parts.append("Special causes: " + "; ".join(cause.message for cause in data.causes) + ".")
    else:
        parts.append("No special causes: the variation looks like common-cause variation.")
    if target is not None:
        parts.append(f"Target {target:.3g}{units}, shown for context only.")
    return " ".join(parts)
