"""The histogram around a target, with the smooth shape expected without a pile-up."""

from __future__ import annotations

import altair as alt
import pandas as pd

from evalkit.charts import NEUTRAL_COLOUR, PILOT_COLOUR
from evalkit.quality.bunching import Bunching
from evalkit.quality.bunching import describe_bunching as describe_result

#: Okabe-Ito black for the expected curve: it must read as "the reference", not as a group.
EXPECTED_COLOUR = "#000000"
#: A light grey wash for the window left out of the fit.
WINDOW_COLOUR = "#999999"
#: Okabe-Ito sky blue, pale, for the columns where small bins are hidden: unlike the grey
#: window, and never read as a bar or as an empty bin.
HIDDEN_COLOUR = "#56B4E9"


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
    # each hidden bin is a pale blue column the height of the plot, so a gap reads as "not
    # shown", never as "no records", and a lone bar among them as what it is
    gaps = (
        alt.Chart(bins[hidden])
        .mark_rect(color=HIDDEN_COLOUR, opacity=0.3)
        .encode(x=alt.X("left:Q", scale=x_scale, title=x_title), x2="right:Q")
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
        color=NEUTRAL_COLOUR, align="left", baseline="top", dx=4, dy=4, fontSize=12
    ).encode(x=alt.X("edge:Q", scale=x_scale), y=alt.value(0), text="text:N")

    side = "under" if result.good_side == "below" else "over"
    subtitle = [
        f"Bars: records in bins of {step}. Line: what a smooth curve fitted "
        "outside the shaded window expects.",
        "A pile-up just inside the target is a question for the team, not proof of anything.",
    ]
    if hidden.any():
        count = int(hidden.sum())
        subtitle.append(
            f"Pale blue columns: {count} {'bin' if count == 1 else 'bins'} with fewer than "
            f"{min_cell_count} records, not shown to protect privacy (not empty)."
        )
    chart: alt.LayerChart = (shade + gaps + bars + curve + rule + tag).properties(
        title=alt.TitleParams(
            f"{label}: records just {side} the target, against a smooth curve",
            subtitle=subtitle,
            anchor="start",
        ),
        width=440,
        height=260,
        description=describe_bunching(
            result, label=label, unit=unit, min_cell_count=min_cell_count
        ),
    )
    return chart


def describe_bunching(
    result: Bunching, *, label: str, unit: str = "", min_cell_count: int = 10
) -> str:
    """Return a plain-words account of the chart: what is drawn, then what the check found."""
    in_unit = f" {unit}" if unit else ""
    hidden = sum(1 for count in result.observed if 0 < count < min_cell_count)
    gaps = (
        f" {hidden} {'bin' if hidden == 1 else 'bins'} with fewer than {min_cell_count} "
        "records are not shown."
        if hidden
        else ""
    )
    return (
        f"Histogram of {result.records} records in bins of {_amount(result.bin_width, unit)} "
        f"around the target of {result.threshold:g}{in_unit}, with a smooth curve fitted "
        f"outside the window from {result.window[0]:g} to {result.window[1]:g}{in_unit}."
        f"{gaps} {describe_result(result, label)}"
    )


def _amount(value: float, unit: str) -> str:
    """Return a value with its unit in words ("1 day", "2.5 minutes")."""
    if not unit:
        return f"{value:g}"
    # units are written in the plural in the card ("days"); one of them reads as singular
    return f"{value:g} {unit[:-1] if value == 1 and unit.endswith('s') else unit}"
