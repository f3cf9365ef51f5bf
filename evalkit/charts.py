"""Altair chart builders: data in, chart out; nothing is written to disk here.

Colours are from the Okabe-Ito palette, safe for the common kinds of colour
blindness. Every chart has a title that says what it shows, labelled axes
and a description read by screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from evalkit.estimate.finding import Finding

PILOT_COLOUR = "#0072B2"
COMPARISON_COLOUR = "#E69F00"
NEUTRAL_COLOUR = "#555555"


def enable_offline_rendering() -> None:
    """Render charts as inline SVG so a report needs no script from the network."""
    alt.renderers.enable("svg")


def means_chart(
    cells: pd.DataFrame, *, label: str, unit: str = "", min_cell_count: int = 10
) -> alt.LayerChart:
    """Return means before and after with 95% intervals, a line for each group.

    ``cells`` is :func:`evalkit.estimate.cell_means` output; suppressed cells
    are left out of the chart and named in its subtitle.
    """
    shown = cells[~cells["suppressed"]].copy()
    shown["period"] = shown["period"].astype(str)
    axis_title = f"{label} ({unit})" if unit else label
    hidden = int(cells["suppressed"].sum())
    subtitle = "Points are means; bars are 95% confidence intervals."
    if hidden:
        subtitle += f" {hidden} group(s) with fewer than {min_cell_count} records are not shown."
    groups = sorted(shown["group"].unique(), reverse=True)
    colour = alt.Color(
        "group:N",
        title="Group",
        scale=alt.Scale(
            domain=groups,
            range=[PILOT_COLOUR if g == "pilot" else COMPARISON_COLOUR for g in groups],
        ),
    )
    x = alt.X("period:N", title="Period", sort=["before", "after"], axis=alt.Axis(labelAngle=0))
    base = alt.Chart(shown)
    lines = base.mark_line(point=alt.OverlayMarkDef(size=70, filled=True)).encode(
        x=x,
        y=alt.Y("mean:Q", title=axis_title, scale=alt.Scale(zero=False)),
        color=colour,
        tooltip=["group", "period", alt.Tooltip("mean:Q", format=".3g"), "n:Q"],
    )
    bars = base.mark_errorbar(ticks=True).encode(
        x=x,
        y=alt.Y("ci_low:Q", title=axis_title),
        y2="ci_high:Q",
        color=colour,
    )
    description = f"{label}: mean before and after the change for each group. " + "; ".join(
        f"{row.group} {row.period}: {row.mean:.3g} (95% CI {row.ci_low:.3g} to {row.ci_high:.3g})"
        for row in shown.itertuples()
    )
    chart: alt.LayerChart = (bars + lines).properties(
        title=alt.TitleParams(f"{label}: before and after", subtitle=subtitle, anchor="start"),
        width=320,
        height=240,
        description=description,
    )
    return chart


def effects_chart(findings: Sequence[Finding]) -> alt.LayerChart:
    """Return each outcome's estimated change with its 95% interval, beside a line at zero."""
    frame = pd.DataFrame(
        {
            "outcome": [f.label + (f" ({f.unit})" if f.unit else "") for f in findings],
            "estimate": [f.estimate for f in findings],
            "ci_low": [f.ci_low for f in findings],
            "ci_high": [f.ci_high for f in findings],
        }
    )
    y = alt.Y("outcome:N", title=None, sort=None)
    base = alt.Chart(frame)
    zero = (
        alt.Chart(pd.DataFrame({"zero": [0.0]}))
        .mark_rule(color=NEUTRAL_COLOUR, strokeDash=[4, 4])
        .encode(x="zero:Q")
    )
    bars = base.mark_rule(color=PILOT_COLOUR, strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title="Estimated change (95% confidence interval)"),
        x2="ci_high:Q",
        y=y,
    )
    points = base.mark_point(filled=True, size=80, color=PILOT_COLOUR).encode(
        x="estimate:Q",
        y=y,
        tooltip=[
            "outcome",
            alt.Tooltip("estimate:Q", format=".3g"),
            alt.Tooltip("ci_low:Q", format=".3g"),
            alt.Tooltip("ci_high:Q", format=".3g"),
        ],
    )
    description = "Estimated change for each outcome with its 95% interval. " + "; ".join(
        f"{row.outcome}: {row.estimate:.3g} ({row.ci_low:.3g} to {row.ci_high:.3g})"
        for row in frame.itertuples()
    )
    chart: alt.LayerChart = (zero + bars + points).properties(
        title=alt.TitleParams(
            "Estimated change in each outcome",
            subtitle="An interval crossing the dashed line means no change is also consistent "
            "with the data.",
            anchor="start",
        ),
        width=420,
        height=max(60, 40 * len(frame)),
        description=description,
    )
    return chart
