"""The event study: the estimated effect in each period before and after the start."""

from __future__ import annotations

import altair as alt
import pandas as pd

from evalkit.charts import NEUTRAL_COLOUR, PILOT_COLOUR
from evalkit.estimate.evidence import PRETREND_ALPHA
from evalkit.estimate.panel import EventStudy
from evalkit.estimate.wording import format_interval

#: Okabe-Ito vermillion for periods before the start: they check the comparison, not the effect.
BEFORE_COLOUR = "#D55E00"
AFTER_COLOUR = PILOT_COLOUR
#: Below this p-value the pre-start effects are read as a warning.


def event_study_chart(data: EventStudy, *, label: str, unit: str = "") -> alt.LayerChart:
    """Return the effect in each period relative to the start, with 95% intervals.

    Points are pilot-minus-comparison differences relative to the period
    before the start (the reference, drawn hollow at zero); a dashed line
    marks no difference and a vertical line the start. The description for
    screen readers gives every point and the test of the periods before.
    """
    frame = data.to_frame()
    frame["when"] = frame["when"].map({"before": "Before the start", "after": "From the start"})
    shown, reference = frame[~frame["reference"]], frame[frame["reference"]]
    scale_unit = unit or ("percentage points" if data.scale == "percentage points" else "")
    y_title = "Difference from the comparison group" + (f" ({scale_unit})" if scale_unit else "")
    ends = [
        float(frame["relative_period"].min()) - 0.5,
        float(frame["relative_period"].max()) + 0.5,
    ]
    x = alt.X(
        "relative_period:Q",
        title="Periods relative to the start (0 = first period of the change)",
        axis=alt.Axis(tickMinStep=1, format="d"),
        scale=alt.Scale(domain=ends, nice=False, zero=False),
    )
    colour = alt.Color(
        "when:N",
        title=None,
        scale=alt.Scale(
            domain=["Before the start", "From the start"], range=[BEFORE_COLOUR, AFTER_COLOUR]
        ),
        legend=alt.Legend(orient="top"),
    )
    base = alt.Chart(shown)
    bars = base.mark_rule(strokeWidth=2).encode(
        x=x, y=alt.Y("ci_low:Q", title=y_title), y2="ci_high:Q", color=colour
    )
    points = base.mark_point(filled=True, size=70).encode(
        x=x,
        y=alt.Y("estimate:Q", title=y_title),
        color=colour,
        tooltip=[
            alt.Tooltip("relative_period:Q", title="period relative to start"),
            alt.Tooltip("estimate:Q", format=".3g"),
            alt.Tooltip("ci_low:Q", title="95% CI from", format=".3g"),
            alt.Tooltip("ci_high:Q", title="95% CI to", format=".3g"),
        ],
    )
    held = (
        alt.Chart(reference)
        .mark_point(filled=False, size=70, color=NEUTRAL_COLOUR)
        .encode(x=x, y=alt.Y("estimate:Q", title=y_title))
    )
    zero = (
        alt.Chart(pd.DataFrame({"zero": [0.0]}))
        .mark_rule(color=NEUTRAL_COLOUR, strokeDash=[4, 4])
        .encode(y="zero:Q")
    )
    start = (
        alt.Chart(pd.DataFrame({"start": [data.reference + 0.5]}))
        .mark_rule(color=NEUTRAL_COLOUR, strokeWidth=1)
        .encode(x="start:Q")
    )
    subtitle = [
        f"Each point: pilot minus comparison, relative to period {data.reference} "
        "(hollow, set to 0). Bars: 95% confidence intervals.",
        describe_pretrend(data),
    ]
    chart: alt.LayerChart = (zero + start + bars + points + held).properties(
        title=alt.TitleParams(
            f"{label}: estimated effect in each period before and after the start",
            subtitle=subtitle,
            anchor="start",
        ),
        width=480,
        height=260,
        description=describe_event_study(data, label=label, unit=scale_unit),
    )
    return chart


def describe_pretrend(data: EventStudy) -> str:
    """Return one sentence on what the periods before the start say about the comparison."""
    if data.pretrend_p is None:
        return "Only one period before the start, so similar paths before it cannot be checked."
    p = f"{data.pretrend_p:.2f}" if data.pretrend_p >= 0.01 else "< 0.01"
    if data.pretrend_p < PRETREND_ALPHA:
        return (
            f"Before the start the groups were already moving apart (test of the periods "
            f"before the start, p = {p}), "
            "so the estimated effect may partly reflect that."
        )
    return (
        f"No clear sign that the groups moved apart before the start (test of the periods "
        f"before the start, p = {p}); "
        "this cannot prove they would have stayed together."
    )


def describe_event_study(data: EventStudy, *, label: str, unit: str = "") -> str:
    """Return a plain-words account of the chart for screen readers."""
    points = "; ".join(
        f"period {p.relative_period}: reference, 0"
        if p.relative_period == data.reference
        else f"period {p.relative_period}: {format_interval(p.estimate, p.ci_low, p.ci_high, unit)}"
        for p in data.points
    )
    return (
        f"{label}: event study, the difference between pilot and comparison in each period "
        f"relative to the start, with 95% confidence intervals. {points}. "
        f"{describe_pretrend(data)} Test of the periods before the start: {data.pretrend_test}."
    )
