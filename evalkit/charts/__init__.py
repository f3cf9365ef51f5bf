"""Altair chart builders: data in, chart out; nothing is written to disk here.

Colours are from the Okabe-Ito palette, safe for the common kinds of colour
blindness. Every chart has a title that says what it shows, labelled axes
and a description read by screen readers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from evalkit.estimate.finding import Finding
from evalkit.estimate.wording import NO_END
from evalkit.markup import invisible_removed, visible

PILOT_COLOUR = "#0072B2"
COMPARISON_COLOUR = "#E69F00"
NEUTRAL_COLOUR = "#555555"


def enable_offline_rendering() -> None:
    """Render plain altair charts as inline SVG so a notebook needs no script from the network."""
    alt.renderers.enable("svg")


@dataclass(frozen=True)
class Figure:
    """A chart drawn as inline SVG, with its description for screen readers.

    Displaying a Figure in a notebook puts the picture itself in the page (no
    script, no network), so it shows in report.html, in print and offline.
    """

    chart: Any

    @property
    def description(self) -> str:
        """Return the chart's text description."""
        text = self.chart.to_dict().get("description", "")
        return str(text)

    def to_svg(self) -> str:
        """Return the chart as an SVG document with role="img" and an aria-label."""
        import vl_convert

        version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
        known = vl_convert.get_vegalite_versions()
        svg = str(
            vl_convert.vegalite_to_svg(
                self.chart.to_dict(), vl_version=version if version in known else None
            )
        )
        label = html.escape(self.description, quote=True)
        # typed labels reach the chart's text: no bidi control may make it read otherwise
        return invisible_removed(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))

    def _repr_html_(self) -> str:
        caption = html.escape(visible(self.description))
        return (
            f'<figure class="evalkit-chart">{self.to_svg()}'
            f'<figcaption class="evalkit-description">{caption}</figcaption></figure>'
        )


def figure(chart: Any) -> Figure:
    """Return a chart ready to display as inline, described SVG."""
    return Figure(chart)


def means_chart(
    cells: pd.DataFrame, *, label: str, unit: str = "", min_cell_count: int = 10
) -> alt.LayerChart:
    """Return means before and after with 95% intervals, a line for each group.

    ``cells`` is :func:`evalkit.estimate.cell_means` output; suppressed cells
    are left out of the chart and counted in its subtitle. A cell may be hidden
    to protect another (secondary suppression), so the subtitle does not say
    that every hidden group is small.
    """
    shown = cells[~cells["suppressed"]].copy()
    shown["period"] = shown["period"].astype(str)
    axis_title = f"{label} ({unit})" if unit else label
    hidden = int(cells["suppressed"].sum())
    subtitle = "Points are means; bars are 95% confidence intervals."
    if hidden:
        subtitle += (
            f" {hidden} group(s) not shown, so that no count below {min_cell_count} "
            "can be read or worked out."
        )
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
    offset = alt.XOffset("group:N", sort=groups)
    base = alt.Chart(shown)
    lines = base.mark_line(point=alt.OverlayMarkDef(size=70, filled=True)).encode(
        x=x,
        xOffset=offset,
        y=alt.Y("mean:Q", title=axis_title, scale=alt.Scale(zero=False)),
        color=colour,
        tooltip=["group", "period", alt.Tooltip("mean:Q", format=".3g"), "n:Q"],
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        x=x,
        xOffset=offset,
        y=alt.Y("ci_low:Q", title=axis_title),
        y2="ci_high:Q",
        color=colour,
    )
    once = set(cells["period"].astype(str)) == {"after"}  # measured once, after the change
    when = "after the change" if once else "before and after the change"
    description = f"{label}: mean {when} for each group. " + "; ".join(
        f"{row.group} {row.period}: {row.mean:.3g} (95% CI {row.ci_low:.3g} to {row.ci_high:.3g})"
        for row in shown.itertuples()
    )
    chart: alt.LayerChart = (bars + lines).properties(
        title=alt.TitleParams(
            f"{label}: {'by group' if once else 'before and after'}",
            subtitle=subtitle,
            anchor="start",
        ),
        width=320,
        height=240,
        description=description,
    )
    return chart


def effects_chart(findings: Sequence[Finding]) -> alt.VConcatChart:
    """Return each outcome's estimated change with its 95% interval, beside a line at zero.

    Each outcome gets its own axis in its own units: changes in days and in
    percentage points are never drawn on one scale.
    """
    panels = []
    for finding in findings:
        unit = finding.scale if finding.no_change == 1.0 else (finding.unit or "change")
        low, high = _drawn_ends(finding)
        row = pd.DataFrame(
            {
                "estimate": [finding.estimate],
                "ci_low": [low],
                "ci_high": [high],
                "interval": [
                    f"{finding.ci_low:.3g} to {finding.ci_high:.3g}" if finding.bounded else NO_END
                ],
                "zero": [finding.no_change],  # 1 on a ratio scale
            }
        )
        base = alt.Chart(row)
        x_title = f"Estimated change ({unit}, 95% confidence interval)"
        zero = base.mark_rule(color=NEUTRAL_COLOUR, strokeDash=[4, 4]).encode(x="zero:Q")
        interval = base.mark_rule(color=PILOT_COLOUR, strokeWidth=3).encode(
            x=alt.X("ci_low:Q", title=x_title), x2="ci_high:Q"
        )
        point = base.mark_point(filled=True, size=90, color=PILOT_COLOUR).encode(
            x="estimate:Q",
            tooltip=[
                alt.Tooltip("estimate:Q", format=".3g"),
                alt.Tooltip("interval:N", title="95% interval"),
            ],
        )
        panels.append(
            (zero + interval + point).properties(
                title=alt.TitleParams(finding.label, fontSize=12, anchor="start"),
                width=420,
                height=28,
            )
        )
    description = "Estimated change for each outcome with its 95% interval. " + "; ".join(
        f"{f.label}: {f.estimate:.3g} {f.unit} "
        + (f"({f.ci_low:.3g} to {f.ci_high:.3g})" if f.bounded else f"({NO_END})")
        for f in findings
    )
    chart: alt.VConcatChart = alt.vconcat(*panels, spacing=18).properties(
        title=alt.TitleParams(
            "Estimated change in each outcome",
            subtitle="An interval crossing the dashed line means no change is also consistent "
            "with the data.",
            anchor="start",
        ),
        description=description,
    )
    return chart


def _drawn_ends(finding: Finding) -> tuple[float, float]:
    """Return the interval's ends to draw: an end that does not exist runs off the axis.

    The line is drawn to well beyond the estimate and the line at no change,
    so it reads as open; the chart's description says there is no interval.
    """
    if finding.bounded:
        return finding.ci_low, finding.ci_high
    span = max(abs(finding.estimate - finding.no_change), abs(finding.estimate) * 0.5, 1.0)
    low = finding.ci_low if math.isfinite(finding.ci_low) else finding.estimate - 3 * span
    high = finding.ci_high if math.isfinite(finding.ci_high) else finding.estimate + 3 * span
    if finding.no_change == 1.0:
        low = max(low, finding.estimate / 4)
    return low, high
