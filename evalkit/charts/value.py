"""The acceptability curve: the chance the pilot is worth its cost, for each value of a unit.

One panel an outcome (their units differ, so they never share an axis),
stacked; the card's value, when it gives one, is a dotted rule. The
description says in words what the curve shows at the card's value and
where the chance passes one half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from evalkit.charts import NEUTRAL_COLOUR, PILOT_COLOUR
from evalkit.estimate.value_model import SIGNS, ValueForMoney, chance_words, money

#: Chart text is never smaller than this (pixels).
TEXT_SIZE = 11
_WIDTH, _HEIGHT = 420, 180


def acceptability_chart(
    items: Sequence[ValueForMoney], units: Mapping[str, str]
) -> alt.VConcatChart:
    """Return each outcome's acceptability curve, one panel each; ``units`` names one unit of
    each outcome's improvement (by outcome id), as "day fewer"."""
    panels = []
    described = []
    for item in items:
        unit = units[item.outcome]
        frame = pd.DataFrame(
            {
                "value": [p.value for p in item.acceptability],
                "chance": [p.probability for p in item.acceptability],
            }
        )
        sign = SIGNS.get(item.currency, f"{item.currency} ")
        x = alt.X(
            "value:Q",
            title=f"Value of each {unit} ({item.currency})",
            axis=alt.Axis(labelExpr=f"'{sign}' + format(datum.value, ',')"),
        )
        layers: list[alt.Chart] = [
            alt.Chart(frame)
            .mark_line(color=PILOT_COLOUR, strokeWidth=2)
            .encode(
                x=x,
                y=alt.Y(
                    "chance:Q",
                    title="Chance the pilot is worth its cost",
                    scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format="%"),
                ),
            )
        ]
        if item.value_per_unit is not None:
            layers.append(
                alt.Chart(pd.DataFrame({"value": [item.value_per_unit]}))
                .mark_rule(color=NEUTRAL_COLOUR, strokeDash=[2, 3])
                .encode(x="value:Q")
            )
        panels.append(
            alt.LayerChart(layer=layers).properties(
                title=alt.TitleParams(
                    item.label,
                    subtitle=["Dotted line: the card's value."] if item.value_per_unit else [],
                    anchor="start",
                    fontSize=13,
                    subtitleFontSize=TEXT_SIZE,
                ),
                width=_WIDTH,
                height=_HEIGHT,
            )
        )
        described.append(_describe(item, unit))
    return alt.vconcat(*panels).properties(
        title=alt.TitleParams(
            "How likely the pilot is to be worth its cost",
            subtitle=["For each value a unit of improvement might be given."],
            anchor="start",
            fontSize=14,
            subtitleFontSize=TEXT_SIZE,
        ),
        description="Acceptability curves. " + " ".join(described),
    )


def _describe(item: ValueForMoney, unit: str) -> str:
    """Return one outcome's curve in words."""
    write = money
    half = next((p.value for p in item.acceptability if p.probability >= 0.5), None)
    said = [f"{item.label}:"]
    if half is None:
        said.append(
            "the chance stays below one half for every value up to "
            f"{write(item.acceptability[-1].value, item.currency)} for each {unit}."
        )
    else:
        said.append(
            f"the chance passes one half once each {unit} is worth about "
            f"{write(half, item.currency)}."
        )
    if item.value_per_unit is not None and item.probability_worth_it is not None:
        said.append(
            f"At the card's value of {write(item.value_per_unit, item.currency)} it is "
            f"{chance_words(item.probability_worth_it)}."
        )
    return " ".join(said)
