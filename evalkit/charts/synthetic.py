"""The synthetic design's three charts: the pilot beside its comparison, the gaps, the donors.

The first chart draws the pilot's series and the weighted comparison built
from other places; the second the gap between them against the same gap for
each comparison place treated as if it had been the pilot (the placebos,
which show how large a gap arises by chance); the third which places make up
the comparison, and with what weight. A vertical rule marks where the change
began, between the last period before it and the first period of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import pandas as pd

from evalkit.charts import COMPARISON_COLOUR, NEUTRAL_COLOUR, PILOT_COLOUR
from evalkit.estimate._synthetic_figure import SyntheticFigure
from evalkit.estimate.wording import format_interval, format_number

#: How many donors the weights chart draws; the rest are counted in its subtitle.
MAX_DONORS_SHOWN = 15
SYNTHETIC = "Synthetic comparison"
#: What the grey lines are, as two lines of the gaps chart's subtitle.
PLACEBO_NOTE = (
    "Each grey line: the same gap for one comparison place treated as if it had been the pilot;",
    "a gap much larger than theirs after the change is unlikely to be chance.",
)
# every period sits in the middle of a band of its own, so the start can be drawn on the
# edge between the last period before the change and the first period of it
_BANDS = alt.Scale(type="band", paddingInner=0, paddingOuter=0)


def synthetic_charts(
    data: SyntheticFigure, *, label: str, unit: str = ""
) -> list[alt.TopLevelMixin]:
    """Return the synthetic design's three charts: the series, the gaps, the donors' weights."""
    unit = unit or data.unit
    return [
        pilot_and_synthetic_chart(data, label=label, unit=unit),
        gaps_chart(data, label=label, unit=unit),
        donor_weights_chart(data, label=label),
    ]


def pilot_and_synthetic_chart(
    data: SyntheticFigure, *, label: str, unit: str = ""
) -> alt.LayerChart:
    """Return the pilot's series and its synthetic comparison over time, the start marked."""
    pilot = f"{data.pilot_name} (pilot)"
    frame = pd.concat(
        [
            _series(data.periods, data.pilot).assign(series=pilot),
            _series(data.periods, data.synthetic).assign(series=SYNTHETIC),
        ],
        ignore_index=True,
    )
    # a label that already names its unit ("... (per 1,000 households)") is not given it twice
    axis_title = f"{label} ({unit})" if unit and unit not in label else label
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=[pilot, SYNTHETIC], range=[PILOT_COLOUR, COMPARISON_COLOUR]),
        legend=alt.Legend(orient="top", labelLimit=320),
    )
    dash = alt.StrokeDash(
        "series:N",
        title=None,
        scale=alt.Scale(domain=[pilot, SYNTHETIC], range=[[1, 0], [6, 4]]),
        legend=alt.Legend(orient="top", labelLimit=320),
    )
    lines = (
        alt.Chart(frame)
        .mark_line(strokeWidth=2)
        .encode(
            x=_period_axis(data.periods),
            y=alt.Y("value:Q", title=axis_title, scale=alt.Scale(zero=False)),
            color=colour,
            strokeDash=dash,
            tooltip=[
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("value:Q", format=".3g"),
            ],
        )
    )
    chart: alt.LayerChart = (lines + _start_rule(data)).properties(
        title=alt.TitleParams(
            f"{label}: the pilot and its synthetic comparison over time",
            subtitle=[
                f"Solid line: the pilot, {data.pilot_name}.",
                f"Dashed line: a weighted mix of {_places(len(data.donors))}, "
                "moved to the pilot's level before the change.",
                f"Vertical line: the change began at {data.periods[data.start]}.",
            ],
            anchor="start",
        ),
        width=480,
        height=260,
        description=describe_pilot_and_synthetic(data, label=label, unit=unit),
    )
    return chart


def gaps_chart(data: SyntheticFigure, *, label: str, unit: str = "") -> alt.LayerChart:
    """Return the pilot's gap from its synthetic comparison over time, over the placebos' gaps."""
    placebos = pd.concat(
        [
            _series(data.periods, gaps).assign(placebo=number)
            for number, gaps in enumerate(data.placebo_gaps)
        ]
        or [_series((), ()).assign(placebo=0)],
        ignore_index=True,
    )
    y_title = "Pilot minus synthetic comparison" + (f" ({unit})" if unit else "")
    x = _period_axis(data.periods)
    y = alt.Y("value:Q", title=y_title)
    grey = (
        alt.Chart(placebos)
        .mark_line(color=NEUTRAL_COLOUR, opacity=0.25, strokeWidth=1)
        .encode(x=x, y=y, detail="placebo:N")
    )
    gap = (
        alt.Chart(_series(data.periods, data.gaps))
        .mark_line(color=PILOT_COLOUR, strokeWidth=3)
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("value:Q", title="gap", format=".3g"),
            ],
        )
    )
    zero = (
        alt.Chart(pd.DataFrame({"zero": [0.0]}))
        .mark_rule(color=NEUTRAL_COLOUR, strokeDash=[4, 4])
        .encode(y="zero:Q")
    )
    chart: alt.LayerChart = (grey + zero + _start_rule(data) + gap).properties(
        title=alt.TitleParams(
            f"{label}: the pilot's gap from its synthetic comparison, beside gaps by chance",
            subtitle=[
                f"Bold line: {data.pilot_name} minus its synthetic comparison.",
                f"Dashed line: no gap. Vertical line: the change began at "
                f"{data.periods[data.start]}.",
                *PLACEBO_NOTE,
            ],
            anchor="start",
        ),
        width=480,
        height=260,
        description=describe_gaps(data, label=label, unit=unit),
    )
    return chart


def donor_weights_chart(data: SyntheticFigure, *, label: str) -> alt.LayerChart:
    """Return each place's weight in the synthetic comparison, largest first."""
    ordered = sorted(data.donors, key=lambda donor: -donor.weight)
    shown, rest = ordered[:MAX_DONORS_SHOWN], ordered[MAX_DONORS_SHOWN:]
    frame = pd.DataFrame(
        {
            "place": [donor.place for donor in shown],
            "percent": [100 * donor.weight for donor in shown],
            "weight": [format_weight(donor.weight) for donor in shown],
        }
    )
    y = alt.Y(
        "place:N",
        title=None,
        sort=list(dict.fromkeys(frame["place"])),
        axis=alt.Axis(labelLimit=200),
    )
    x = alt.X("percent:Q", title="Weight in the synthetic comparison (%)")
    base = alt.Chart(frame)
    bars = base.mark_bar(color=COMPARISON_COLOUR).encode(
        x=x,
        y=y,
        tooltip=[alt.Tooltip("place:N", title="Place"), alt.Tooltip("weight:N", title="Weight")],
    )
    values = base.mark_text(align="left", dx=3, color=NEUTRAL_COLOUR).encode(
        x=x, y=y, text="weight:N"
    )
    subtitle = [
        f"{len(data.donors)} of the {data.comparison_places} comparison places carry weight; "
        "together their weights make 100%."
    ]
    if rest:
        subtitle.append(
            f"The {len(shown)} largest are shown; {_places(len(rest), 'other')} share the "
            f"remaining {format_weight(sum(donor.weight for donor in rest))} of the weight."
        )
    chart: alt.LayerChart = (bars + values).properties(
        title=alt.TitleParams(
            f"{label}: which places make up the synthetic comparison",
            subtitle=subtitle,
            anchor="start",
        ),
        width=480,
        height=min(260, max(80, 24 * len(shown))),
        description=describe_donor_weights(data, label=label),
    )
    return chart


def describe_pilot_and_synthetic(data: SyntheticFigure, *, label: str, unit: str = "") -> str:
    """Return a plain-words account of the series chart: means before and after, for each."""
    unit_text = f" {unit}" if unit else ""
    before, after = slice(0, data.start), slice(data.start, None)
    return (
        f"{label}: {data.pilot_name} (the pilot) and its synthetic comparison, a weighted mix "
        f"of {_places(len(data.donors))}, one value per period, {len(data.periods)} periods "
        f"from {data.periods[0]} to {data.periods[-1]}; the change began at "
        f"{data.periods[data.start]}. Before the change the pilot averaged "
        f"{_mean(data.pilot[before])}{unit_text} and the synthetic comparison "
        f"{_mean(data.synthetic[before])}{unit_text}. From the change on the pilot averaged "
        f"{_mean(data.pilot[after])}{unit_text} and the synthetic comparison "
        f"{_mean(data.synthetic[after])}{unit_text}."
    )


def describe_gaps(data: SyntheticFigure, *, label: str, unit: str = "") -> str:
    """Return a plain-words account of the gaps chart: the estimate and how the placebos compare."""
    low = math.nan if data.ci_low is None else data.ci_low
    high = math.nan if data.ci_high is None else data.ci_high
    estimate = format_interval(data.estimate, low, high, unit)
    return (
        f"{label}: the gap between the pilot and its synthetic comparison in each period, "
        f"beside the same gap for each comparison place treated as if it had been the pilot. "
        f"After the change the gap averaged {estimate}. {describe_placebos(data)} "
        f"{describe_fit(data, unit=unit)}"
    )


def describe_placebos(data: SyntheticFigure) -> str:
    """Return how many placebo gaps were as large as the pilot's, on average, after the change."""
    count = len(data.placebo_gaps)
    if count == 0:
        return "There are no placebo gaps to compare it with."
    pilot = abs(_average(data.gaps[data.start :]))
    larger = sum(abs(_average(gaps[data.start :])) >= pilot for gaps in data.placebo_gaps)
    return (
        f"{larger} of {count} placebo gaps were at least as large after the change, "
        "on average, as the pilot's."
    )


def describe_fit(data: SyntheticFigure, *, unit: str = "") -> str:
    """Return one sentence on how closely the synthetic comparison followed the pilot before."""
    unit_text = f" {unit}" if unit else ""
    return (
        f"Before the change the synthetic comparison followed the pilot to within "
        f"{format_number(data.pre_rmspe)}{unit_text} (root mean squared gap); "
        f"{data.worse_fits} of {len(data.placebo_gaps)} placebo places were fitted less closely."
    )


def describe_donor_weights(data: SyntheticFigure, *, label: str) -> str:
    """Return every place in the synthetic comparison with its weight, largest first."""
    ordered = sorted(data.donors, key=lambda donor: -donor.weight)
    weights = ", ".join(f"{donor.place} {format_weight(donor.weight)}" for donor in ordered)
    return (
        f"{label}: the places that make up the synthetic comparison and their weights, "
        f"{_places(len(ordered))} of the {data.comparison_places} that could have been used: "
        f"{weights or 'none'}."
    )


def format_weight(weight: float) -> str:
    """Return a weight as a percent for reading: 31%, 2%, 0.4%, <0.1%."""
    percent = 100 * weight
    if percent >= 1 or percent == 0:
        return f"{percent:.0f}%"
    return f"{percent:.1f}%" if percent >= 0.05 else "<0.1%"


def _series(periods: Sequence[str], values: Sequence[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"period": list(periods), "value": [float(v) for v in values]}, columns=["period", "value"]
    )


def _period_axis(periods: Sequence[str], *, band_position: float = 0.5) -> alt.X:
    return alt.X(
        "period:O",
        title="Period",
        sort=list(periods),
        scale=_BANDS,
        bandPosition=band_position,
        axis=alt.Axis(labelAngle=0 if len(periods) <= 12 else -45, labelOverlap=True),
    )


def _start_rule(data: SyntheticFigure) -> alt.Chart:
    """Return the vertical line on the edge between the last period before and the first after."""
    rule: alt.Chart = (
        alt.Chart(pd.DataFrame({"period": [data.periods[data.start]]}))
        .mark_rule(color=NEUTRAL_COLOUR, strokeWidth=1.5)
        .encode(x=_period_axis(data.periods, band_position=0))
    )
    return rule


def _places(count: int, kind: str = "comparison") -> str:
    return f"{count} {kind} place{'' if count == 1 else 's'}"


def _average(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _mean(values: Sequence[float]) -> str:
    mean = _average(values)
    return f"\u2212{format_number(mean)}" if mean < 0 else format_number(mean)
