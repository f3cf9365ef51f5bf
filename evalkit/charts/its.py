"""The interrupted time series chart: observed periods, the fitted trend and the counterfactual.

Observed values are points, the fitted segmented trend a solid line broken at
the start, and the earlier trend carried forward (what would have happened
without the change, if the trend had held) a dashed line in its shaded 95%
band. A vertical rule marks the start. Colours are Okabe-Ito; the title says
what was found and the description reads every value for screen readers.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from evalkit.charts import COMPARISON_COLOUR, NEUTRAL_COLOUR, PILOT_COLOUR
from evalkit.estimate.its import ItsChartData
from evalkit.estimate.wording import format_interval, format_number

OBSERVED, FITTED, COUNTERFACTUAL = "observed", "fitted trend", "earlier trend projected"
_OBSERVED_COLOUR = "#000000"


def its_chart(data: ItsChartData, *, label: str, unit: str = "") -> alt.LayerChart:
    """Return the ITS chart of an outcome by period, titled with the level change found."""
    points = data.points.copy()
    periods = list(points["period"])
    axis_title = f"{label} ({unit})" if unit else label
    change = format_interval(data.level_change, data.ci_low, data.ci_high, unit)
    subject = f"Gap between pilot and comparison in {label}" if data.series != "pilot" else label
    title = f"{subject}: the level changed by {change} at {data.start_label}"
    subtitle = [
        f"Points: observed {data.per} means. Solid line: fitted trend. Dashed line: the earlier "
        "trend projected forward, with its 95% interval shaded.",
    ]
    if data.hidden_periods:
        subtitle.append(
            f"{data.hidden_periods} period(s) with fewer than {data.min_cell_count} records "
            "are not shown as points."
        )
    colour = alt.Color(
        "kind:N",
        title=None,
        scale=alt.Scale(
            domain=[OBSERVED, FITTED, COUNTERFACTUAL],
            range=[_OBSERVED_COLOUR, PILOT_COLOUR, COMPARISON_COLOUR],
        ),
    )
    x = alt.X(
        "period:O",
        title=data.per.capitalize(),
        sort=periods,
        axis=alt.Axis(labelAngle=0 if len(periods) <= 12 else -45),
    )
    y_scale = alt.Scale(zero=False)
    after = points[points["after"]]
    band = (
        alt.Chart(after)
        .mark_area(opacity=0.2, color=COMPARISON_COLOUR)
        .encode(x=x, y=alt.Y("cf_low:Q", title=axis_title, scale=y_scale), y2="cf_high:Q")
    )
    projected = (
        alt.Chart(after.assign(kind=COUNTERFACTUAL))
        .mark_line(strokeDash=[6, 4], strokeWidth=2)
        .encode(x=x, y=alt.Y("counterfactual:Q", title=axis_title), color=colour)
    )
    fitted = (
        alt.Chart(points.assign(kind=FITTED, segment=points["after"].map({False: 0, True: 1})))
        .mark_line(strokeWidth=2)
        .encode(x=x, y=alt.Y("fitted:Q", title=axis_title), color=colour, detail="segment:N")
    )
    shown = points.dropna(subset=["observed"])
    observed = (
        alt.Chart(shown.assign(kind=OBSERVED))
        .mark_point(filled=True, size=45)
        .encode(
            x=x,
            y=alt.Y("observed:Q", title=axis_title),
            color=colour,
            tooltip=[
                alt.Tooltip("period:O", title=data.per.capitalize()),
                alt.Tooltip("observed:Q", format=".3g"),
                alt.Tooltip("fitted:Q", format=".3g"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"period": [data.start_label]}))
        .mark_rule(color=NEUTRAL_COLOUR, strokeWidth=1.5)
        .encode(x=x)
    )
    chart: alt.LayerChart = (band + projected + fitted + observed + rule).properties(
        title=alt.TitleParams(title, subtitle=subtitle, anchor="start"),
        width=480,
        height=260,
        description=_description(data, label, unit, change),
    )
    return chart


def _description(data: ItsChartData, label: str, unit: str, change: str) -> str:
    unit_text = f" {unit}" if unit else ""
    shown = data.points.dropna(subset=["observed"])
    values = "; ".join(
        f"{period}: {format_number(float(value))}{unit_text}"
        for period, value in zip(shown["period"], shown["observed"], strict=True)
    )
    series = "the pilot minus the comparison group" if data.series != "pilot" else "the pilot"
    return (
        f"Interrupted time series of {label} for {series}, one value per {data.per}, "
        f"{len(data.points)} periods; the change started at {data.start_label}. "
        f"Right after the start the level changed by {change} compared with the earlier "
        f"trend projected forward. Observed values: {values}."
    )
