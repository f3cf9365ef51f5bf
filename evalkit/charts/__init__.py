"""Altair chart builders: data in, chart out; nothing is written to disk here.

Colours are from the Okabe-Ito palette, safe for the common kinds of colour
blindness. Every chart has a title that says what it shows, labelled axes
and a description read by screen readers.
"""

from __future__ import annotations

import functools
import html
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from evalkit.charts._render import render_svg as _render_svg
from evalkit.estimate.finding import Finding
from evalkit.estimate.wording import NO_END
from evalkit.markup import invisible_removed, visible

PILOT_COLOUR = "#0072B2"
COMPARISON_COLOUR = "#E69F00"
NEUTRAL_COLOUR = "#555555"

#: Smallest text in a chart, in CSS pixels as the reader sees it (at 400 px wide too).
MIN_FONT_PX = 11
#: Widest a chart may be drawn for a narrow screen: a 400 px phone leaves about 350 px.
NARROW_WIDTH = 340

#: Text sizes for every chart: axis, legend, header and title text at 12 px or more
#: (vega-lite's defaults are 10 and 11), and text marks at 12 px.
READABLE_CONFIG: dict[str, Any] = {
    "axis": {"labelFontSize": 12, "titleFontSize": 12},
    "legend": {"labelFontSize": 12, "titleFontSize": 12},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "title": {"fontSize": 15, "subtitleFontSize": 12},
    "text": {"fontSize": 12},
}
_FONT_KEYS = {"fontSize", "labelFontSize", "titleFontSize", "subtitleFontSize"}
#: Characters of a title or subtitle line in a narrow chart (about 7 px a character at 12 px).
_NARROW_LINE = 46
#: Characters of a chart title's line in a narrow chart (titles are 15 px).
_NARROW_TITLE_LINE = 36


def enable_offline_rendering() -> None:
    """Render plain altair charts as inline SVG so a notebook needs no script from the network."""
    alt.renderers.enable("svg")


@dataclass(frozen=True)
class Figure:
    """A chart drawn as inline SVG, with its description for screen readers.

    Displaying a Figure in a notebook puts the picture itself in the page (no
    script, no network), so it shows in report.html, in print and offline.
    A chart wider than a phone is drawn twice: as designed, and laid out for
    a narrow screen (panels stacked, plots narrower, titles wrapped, legends
    below); the page's style shows the one that fits, so chart text is never
    shrunk below ``MIN_FONT_PX``.
    """

    chart: Any

    @functools.cached_property
    def drawn_spec(self) -> dict[str, Any]:
        """Return the chart's vega-lite spec, validated once (altair validates on each call)."""
        spec: dict[str, Any] = self.chart.to_dict()
        return spec

    @property
    def description(self) -> str:
        """Return the chart's text description."""
        text = self.drawn_spec.get("description", "")
        return str(text)

    def spec(self) -> dict[str, Any]:
        """Return the chart's vega-lite spec with evalkit's readable text sizes applied."""
        return readable_spec(self.drawn_spec)

    def to_svg(self, spec: dict[str, Any] | None = None, *, drawn: str | None = None) -> str:
        """Return the chart (or ``spec``) as an SVG document with role="img" and an aria-label."""
        svg = drawn if drawn is not None else _render_svg(spec if spec is not None else self.spec())
        label = html.escape(self.description, quote=True)
        # typed labels reach the chart's text: no bidi control may make it read otherwise
        return invisible_removed(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))

    def narrow_svg(self, wide: str | None = None) -> str | None:
        """Return the chart laid out for a narrow screen, or None when it already fits one.

        ``wide`` is the chart as :meth:`to_svg` draws it, when already drawn.
        """
        if svg_width(wide if wide is not None else self.to_svg()) <= NARROW_WIDTH:
            return None
        narrow = narrow_spec(self.spec())
        drawn = _render_svg(narrow)
        # axes and legends take fixed room: shrink the plots by what is left over, and cut a
        # long label in a plot short with an ellipsis (the description keeps every word);
        # each drawing costs a render, so at most three more
        for attempt in range(3):
            if svg_width(drawn) <= NARROW_WIDTH:
                break
            # the plot alone gives up the excess (the axes and legends keep their room)
            widest = max(_plot_widths(narrow), default=0.0)
            excess = svg_width(drawn) - NARROW_WIDTH + 4
            factor = (widest - excess) / widest if widest > excess else 0.5
            narrow = _scaled_widths(narrow, factor)
            if attempt:
                narrow = _limited_text(narrow, NARROW_WIDTH // (1 + attempt))
            drawn = _render_svg(narrow)
        return self.to_svg(narrow, drawn=drawn)

    def _repr_html_(self) -> str:
        caption = html.escape(visible(self.description))
        wide = self.to_svg()
        narrow = self.narrow_svg(wide)
        if narrow is None:
            pictures = wide
        else:
            # the page's style hides the wide picture in a figure narrower than this
            bucket = min(max(math.ceil(svg_width(wide) / 50) * 50, 350), 1300)
            pictures = (
                f'<div class="evalkit-wide evalkit-wide-{bucket}">{wide}</div>'
                f'<div class="evalkit-narrow">{narrow}</div>'
            )
        return (
            f'<figure class="evalkit-chart">{pictures}'
            f'<figcaption class="evalkit-description">{caption}</figcaption></figure>'
        )


def figure(chart: Any) -> Figure:
    """Return a chart ready to display as inline, described SVG, its text at least 11 px."""
    return Figure(chart)


def readable_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Return a vega-lite spec with evalkit's text sizes: none below ``MIN_FONT_PX``.

    ``READABLE_CONFIG`` fills in sizes a chart leaves to the defaults; a size a
    chart sets itself is kept unless it is smaller than the minimum.
    """
    config = dict(spec.get("config", {}))
    for part, sizes in READABLE_CONFIG.items():
        config[part] = {**sizes, **config.get(part, {})}
    floored: dict[str, Any] = _floored({**spec, "config": config})
    return floored


def narrow_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Return a spec laid out for a narrow screen: side-by-side panels stacked, legends below,
    titles wrapped and plots at most ``NARROW_WIDTH`` wide (text stays the same size).
    """
    config = dict(spec.get("config", {}))
    config["legend"] = {**config.get("legend", {}), "orient": "bottom", "direction": "vertical"}
    narrow: dict[str, Any] = _stacked({**spec, "config": config})
    widest = max(_plot_widths(narrow), default=0.0)
    if widest:
        # the plot gets what the axes leave: about 70 px for a y axis and its title
        narrow = _scaled_widths(narrow, (NARROW_WIDTH - 70) / widest)
    return narrow


def svg_width(svg: str) -> float:
    """Return the width an SVG document asks for, in pixels (0 when it names none)."""
    match = re.search(r'<svg[^>]*?\swidth="([\d.]+)', svg)
    return float(match.group(1)) if match else 0.0


def _floored(node: Any) -> Any:
    """Return ``node`` with every font size below ``MIN_FONT_PX`` raised to it."""
    if isinstance(node, dict):
        return {
            key: (
                max(value, MIN_FONT_PX)
                if key in _FONT_KEYS and isinstance(value, int | float)
                else _floored(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_floored(item) for item in node]
    return node


def _stacked(node: Any) -> Any:
    """Return ``node`` with side-by-side panels stacked and titles wrapped to a narrow line."""
    if isinstance(node, list):
        return [_stacked(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "hconcat":
            out["vconcat"] = _stacked(value)
        elif key == "columns" and "concat" in node:
            out[key] = 1
        elif key == "title":
            out[key] = _wrapped_title(value)
        elif key in {"tooltip", "config", "datasets"}:
            out[key] = value
        else:
            out[key] = _stacked(value)
    return out


def _wrapped_title(value: Any) -> Any:
    """Return a title (text, lines or title parameters) with lines wrapped for a narrow chart."""
    if isinstance(value, dict):
        wrapped = {**value}
        for key, line in (("text", _NARROW_TITLE_LINE), ("subtitle", _NARROW_LINE)):
            if key in wrapped:
                wrapped[key] = _wrapped_lines(wrapped[key], line)
        return wrapped
    return _wrapped_lines(value, _NARROW_TITLE_LINE)


def _wrapped_lines(text: Any, width: int) -> Any:
    lines = [text] if isinstance(text, str) else text
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        return text
    out = [part for line in lines for part in (textwrap.wrap(line, width) or [""])]
    return out[0] if len(out) == 1 else out


def _plot_widths(node: Any) -> list[float]:
    if isinstance(node, list):
        return [w for item in node for w in _plot_widths(item)]
    if not isinstance(node, dict):
        return []
    found = [float(node["width"])] if isinstance(node.get("width"), int | float) else []
    return found + [
        w for key, value in node.items() if key != "config" for w in _plot_widths(value)
    ]


def _limited_text(node: Any, limit: int) -> Any:
    """Return ``node`` with every text mark at most ``limit`` pixels wide."""
    if isinstance(node, list):
        return [_limited_text(item, limit) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _limited_text(value, limit) for key, value in node.items() if key != "config"}
    mark = node.get("mark")
    if mark == "text" or (isinstance(mark, dict) and mark.get("type") == "text"):
        out["mark"] = {"type": "text", **(mark if isinstance(mark, dict) else {}), "limit": limit}
    if "config" in node:
        out["config"] = node["config"]
    return out


def _scaled_widths(node: Any, factor: float) -> Any:
    """Return ``node`` with every plot width multiplied by ``factor`` (never below 80 px)."""
    if isinstance(node, list):
        return [_scaled_widths(item, factor) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "width" and isinstance(value, int | float):
            out[key] = max(80, round(value * min(factor, 1.0)))
        elif key in {"x", "x2"} and isinstance(value, dict) and set(value) == {"value"}:
            # a mark placed at a pixel position (a label at the plot's right edge) moves too
            pixels = value["value"]
            out[key] = (
                {"value": pixels * min(factor, 1.0)} if isinstance(pixels, int | float) else value
            )
        elif key == "config":
            out[key] = value
        else:
            out[key] = _scaled_widths(value, factor)
    return out


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
