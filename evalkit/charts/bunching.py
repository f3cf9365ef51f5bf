"""The histogram around a target, with the smooth shape expected without a pile-up."""

from __future__ import annotations

import altair as alt
import pandas as pd

from evalkit.charts import NEUTRAL_COLOUR, PILOT_COLOUR
from evalkit.quality.bunching import Bunching

#: Okabe-Ito black for the expected curve: it must read as "the reference", not as a group.
EXPECTED_COLOUR = "#000000"
#: A light grey wash for the window left out of the fit.
WINDOW_COLOUR = "#999999"


def bunching_chart(
    result: Bunching, *, label: str, unit: str = "", min_cell_count: int = 10
) -> alt.LayerChart:
    """Return the records per bin around a target, the smooth curve fitted outside the window,
    the target as a line and the window shaded.

    Bins holding fewer than ``min_cell_count`` records (but not none) are left
    out of the bars, so no small count is published; the subtitle says how
    many. The fit and the numbers in the description still use every record.
    """
    width = result.bin_width
    bins = pd.DataFrame(
        {
            "left": [c - width / 2 for c in result.bins],
            "right": [c + width / 2 for c in result.bins],
            "records": result.observed,
            "expected": result.counterfactual,
        }
    )
    hidden = bins["records"].between(1, min_cell_count - 1)
    shown = bins[~hidden]
    x_title = f"{label} ({unit})" if unit else label
    step = _amount(width, unit)
    x_scale = alt.Scale(domain=[bins["left"].min(), bins["right"].max()], zero=False, nice=False)
    y_title = f"Records per bin of {step} (count)"

    band = alt.Chart(pd.DataFrame({"lower": [result.window[0]], "upper": [result.window[1]]}))
    shade = band.mark_rect(color=WINDOW_COLOUR, opacity=0.15).encode(
        x=alt.X("lower:Q", scale=x_scale, title=x_title), x2="upper:Q"
    )
    bars = (
        alt.Chart(shown)
        .mark_bar(color=PILOT_COLOUR, opacity=0.75, stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("left:Q", scale=x_scale, title=x_title),
            x2="right:Q",
            y=alt.Y("records:Q", title=y_title),
            y2=alt.datum(0),
            tooltip=[
                alt.Tooltip("left:Q", title="from", format=".4g"),
                alt.Tooltip("right:Q", title="to", format=".4g"),
                alt.Tooltip("records:Q", title="records"),
                alt.Tooltip("expected:Q", title="smooth curve expects", format=".0f"),
            ],
        )
    )
    centres = bins.assign(centre=(bins["left"] + bins["right"]) / 2)
    curve = (
        alt.Chart(centres)
        .mark_line(color=EXPECTED_COLOUR, strokeWidth=2)
        .encode(
            x=alt.X("centre:Q", scale=x_scale, title=x_title), y=alt.Y("expected:Q", title=y_title)
        )
    )
    target = alt.Chart(pd.DataFrame({"edge": [result.edge], "text": ["target (context)"]}))
    rule = target.mark_rule(color=NEUTRAL_COLOUR, strokeDash=[5, 3], strokeWidth=1.5).encode(
        x=alt.X("edge:Q", scale=x_scale)
    )
    tag = target.mark_text(
        color=NEUTRAL_COLOUR, align="left", baseline="top", dx=4, dy=4, fontSize=11
    ).encode(x=alt.X("edge:Q", scale=x_scale), y=alt.value(0), text="text:N")

    side = "under" if result.good_side == "below" else "over"
    subtitle = [
        f"Bars: records in bins of {step}. Line: what a smooth curve fitted "
        "outside the shaded window expects.",
        "A pile-up just inside the target is a question for the team, not proof of anything.",
    ]
    if hidden.any():
        subtitle.append(
            f"{int(hidden.sum())} bin(s) with fewer than {min_cell_count} records are not shown."
        )
    chart: alt.LayerChart = (shade + bars + curve + rule + tag).properties(
        title=alt.TitleParams(
            f"{label}: records just {side} the target, against a smooth curve",
            subtitle=subtitle,
            anchor="start",
        ),
        width=480,
        height=260,
        description=describe_bunching(result, label=label, unit=unit),
    )
    return chart


def describe_bunching(result: Bunching, *, label: str, unit: str = "") -> str:
    """Return a plain-words account of the chart: the excess, its 95% interval and the placebos."""
    in_unit = f" {unit}" if unit else ""
    side = "under" if result.good_side == "below" else "over"
    excess = round(result.excess)
    if excess:
        how_many = f"About {abs(excess)} {'more' if excess > 0 else 'fewer'} records than"
    else:
        how_many = "About as many records as"
    text = (
        f"{label}: histogram of {result.records} records in bins of "
        f"{_amount(result.bin_width, unit)} around the target of {result.threshold:g}{in_unit}, "
        f"with a smooth curve fitted outside the window from {result.window[0]:g} to "
        f"{result.window[1]:g}{in_unit}. {how_many} the curve expects sit just {side} the "
        f"target: {result.excess_ratio:+.0%} of the expected count (95% interval "
        f"{result.ci_low:+.0%} to {result.ci_high:+.0%})."
    )
    if result.placebo:
        text += (
            f" At {result.placebo_detections} of {len(result.placebo)} placebo thresholds, "
            "where nothing should happen, the same check also found a pile-up."
        )
    return text


def _amount(value: float, unit: str) -> str:
    """Return a value with its unit in words ("1 day", "2.5 minutes")."""
    if not unit:
        return f"{value:g}"
    # units are written in the plural in the card ("days"); one of them reads as singular
    return f"{value:g} {unit[:-1] if value == 1 and unit.endswith('s') else unit}"
