"""The synthetic design's three charts: what they draw, what they say, typed text kept as text."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from evalkit.charts import COMPARISON_COLOUR, NEUTRAL_COLOUR, PILOT_COLOUR, figure
from evalkit.charts.synthetic import (
    MAX_DONORS_SHOWN,
    PLACEBO_NOTE,
    describe_placebos,
    donor_weights_chart,
    format_weight,
    gaps_chart,
    synthetic_charts,
)
from evalkit.estimate._synthetic_figure import Donor, SyntheticFigure
from evalkit.estimate.wording import NO_END

PERIODS = tuple(f"{2022 + m // 12}-{m % 12 + 1:02d}" for m in range(24))
START = 16
PLANTED = -6.0
HOSTILE = "<script>alert(1)</script>"


def synthetic_figure(
    *, donors: int = 4, places: int = 30, seed: int = 3, pilot_name: str = "Northbridge"
) -> SyntheticFigure:
    """Return one pilot and its synthetic comparison over 24 periods, a gap of -6 planted after."""
    rng = np.random.default_rng(seed)
    trend = np.linspace(50.0, 60.0, len(PERIODS))
    synthetic = trend + rng.normal(0, 0.5, len(PERIODS))
    pilot = synthetic + rng.normal(0, 0.3, len(PERIODS))
    pilot[START:] += PLANTED
    gaps = pilot - synthetic
    placebos = tuple(tuple(rng.normal(0, 1.0, len(PERIODS))) for _ in range(places - 1))
    names = ["Ashby", "Bexley", "Corby", "Dudley"] + [f"Place {i}" for i in range(5, 40)]
    weights = np.array([0.31, 0.29, 0.25, 0.15]) if donors == 4 else np.linspace(2, 1, donors)
    weights = weights / weights.sum()
    return SyntheticFigure(
        periods=PERIODS,
        start=START,
        pilot_name=pilot_name,
        pilot=tuple(pilot),
        synthetic=tuple(synthetic),
        gaps=tuple(gaps),
        placebo_gaps=placebos,
        donors=tuple(Donor(n, float(w)) for n, w in zip(names, weights, strict=False)),
        comparison_places=places - 1,
        estimate=float(gaps[START:].mean()),
        ci_low=-7.5,
        ci_high=-4.5,
        pre_rmspe=0.3,
        worse_fits=20,
        unit="days",
    )


def _title(chart: object) -> str:
    return str(chart.to_dict()["title"]["text"])  # type: ignore[attr-defined]


def _rows(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a layer's data rows (altair lifts data shared by every layer to the top)."""
    rows: list[dict[str, Any]] = spec["datasets"][(layer.get("data") or spec["data"])["name"]]
    return rows


def _subtitle(chart: object) -> str:
    return " ".join(chart.to_dict()["title"]["subtitle"])  # type: ignore[attr-defined]


def test_three_charts_in_order_each_titled_described_and_drawn_as_svg() -> None:
    charts = synthetic_charts(synthetic_figure(), label="Days in care", unit="days")
    assert len(charts) == 3
    titles = [_title(chart) for chart in charts]
    assert titles == [
        "Days in care: the pilot and its synthetic comparison over time",
        "Days in care: the pilot's gap from its synthetic comparison, beside gaps by chance",
        "Days in care: which places make up the synthetic comparison",
    ]
    for chart, title in zip(charts, titles, strict=True):
        spec = chart.to_dict()
        assert spec["width"] == 480 and spec["height"] <= 260
        svg = figure(chart).to_svg()
        assert svg.startswith('<svg role="img" aria-label="')
        assert html.escape(title, quote=False) in svg
        assert html.escape(figure(chart).description, quote=True) in svg


def test_pilot_and_synthetic_are_two_coloured_lines_the_comparison_dashed() -> None:
    data = synthetic_figure()
    spec = synthetic_charts(data, label="Days in care", unit="days")[0].to_dict()
    lines, rule = spec["layer"]
    encoding = lines["encoding"]
    assert lines["mark"]["type"] == "line" and rule["mark"]["type"] == "rule"
    assert encoding["color"]["scale"]["domain"] == ["Northbridge (pilot)", "Synthetic comparison"]
    assert encoding["color"]["scale"]["range"] == [PILOT_COLOUR, COMPARISON_COLOUR]
    assert encoding["strokeDash"]["scale"]["range"][1] == [6, 4]
    assert encoding["color"]["legend"]["orient"] == "top"
    assert encoding["x"]["sort"] == list(PERIODS)
    assert encoding["y"]["title"] == "Days in care (days)"
    # the rule sits on the left edge of the first period of the change, by the one before
    assert rule["encoding"]["x"]["bandPosition"] == 0
    assert encoding["x"]["bandPosition"] == 0.5
    rule_data = _rows(spec, rule)
    assert rule_data == [{"period": PERIODS[START]}]


def test_series_description_gives_the_means_before_and_after_not_every_point() -> None:
    data = synthetic_figure()
    text = figure(synthetic_charts(data, label="Days in care", unit="days")[0]).description
    pilot, synthetic = np.array(data.pilot), np.array(data.synthetic)
    before, after = pilot[:START].mean(), pilot[START:].mean()
    assert f"Before the change the pilot averaged {before:.0f} days" in text
    assert f"and the synthetic comparison {synthetic[:START].mean():.0f} days" in text
    assert f"From the change on the pilot averaged {after:.0f} days" in text
    assert "the change began at 2023-05" in text and "24 periods from 2022-01 to 2023-12" in text
    assert "2022-02" not in text


def test_gaps_chart_draws_the_gap_bold_over_every_placebo_in_grey() -> None:
    data = synthetic_figure()
    chart = gaps_chart(data, label="Days in care", unit="days")
    spec = chart.to_dict()
    grey, zero, rule, gap = spec["layer"]
    assert grey["mark"]["color"] == NEUTRAL_COLOUR and grey["mark"]["opacity"] < 0.5
    assert grey["encoding"]["detail"]["field"] == "placebo"
    placebo_rows = _rows(spec, grey)
    assert len(placebo_rows) == len(data.placebo_gaps) * len(PERIODS)
    assert len({row["placebo"] for row in placebo_rows}) == len(data.placebo_gaps)
    assert gap["mark"]["color"] == PILOT_COLOUR
    assert gap["mark"]["strokeWidth"] > grey["mark"]["strokeWidth"]
    assert zero["mark"]["strokeDash"] == [4, 4]
    assert rule["encoding"]["x"]["bandPosition"] == 0
    assert " ".join(PLACEBO_NOTE) in _subtitle(chart)
    assert "Each grey line: the same gap for one comparison place" in figure(chart).to_svg()


def test_gaps_description_gives_the_interval_and_how_many_placebos_were_as_large() -> None:
    data = synthetic_figure()
    text = figure(gaps_chart(data, label="Days in care", unit="days")).description
    assert f"After the change the gap averaged \u2212{abs(data.estimate):.1f} days" in text
    assert "(\u22127.5 to \u22124.5)" in text
    # the planted gap is six times the placebos' noise: none comes near it
    assert "0 of 29 placebo gaps were at least as large after the change" in text
    assert "20 of 29 placebo places were fitted less closely" in text
    assert NO_END not in text


def test_placebos_as_large_as_the_pilot_are_counted() -> None:
    data = synthetic_figure()
    bigger = tuple(np.array(data.gaps) * 1.5)
    same_size_other_way = tuple(-np.array(data.gaps))
    small = tuple(np.zeros(len(PERIODS)))
    counted = replace(data, placebo_gaps=(bigger, same_size_other_way, small))
    assert describe_placebos(counted).startswith("2 of 3 placebo gaps were at least as large")
    assert describe_placebos(replace(data, placebo_gaps=())) == (
        "There are no placebo gaps to compare it with."
    )


@pytest.mark.parametrize("ends", [(None, None), (None, -4.5), (-7.5, None)])
def test_no_interval_is_said_in_words_when_an_end_is_missing(
    ends: tuple[float | None, float | None],
) -> None:
    data = replace(synthetic_figure(), ci_low=ends[0], ci_high=ends[1])
    chart = synthetic_charts(data, label="Days in care", unit="days")[1]
    text = figure(chart).description
    assert f"({NO_END})" in text
    assert "too few places" in text
    assert " to \u22124.5)" not in text
    assert 'role="img"' in figure(chart).to_svg()


def test_donor_weights_are_bars_largest_first_with_every_weight_described() -> None:
    data = synthetic_figure()
    chart = synthetic_charts(data, label="Days in care", unit="days")[2]
    spec = chart.to_dict()
    bars, values = spec["layer"]
    assert bars["mark"]["type"] == "bar" and values["mark"]["type"] == "text"
    assert bars["encoding"]["y"]["field"] == "place"
    assert bars["encoding"]["y"]["sort"] == ["Ashby", "Bexley", "Corby", "Dudley"]
    rows = _rows(spec, bars)
    assert [row["percent"] for row in rows] == pytest.approx([31, 29, 25, 15])
    assert "%" in bars["encoding"]["x"]["title"]
    text = figure(chart).description
    assert "Ashby 31%, Bexley 29%, Corby 25%, Dudley 15%." in text
    assert "4 comparison places of the 29 that could have been used" in text
    svg = figure(chart).to_svg()
    assert all(name in svg for name in ("Ashby", "Bexley", "Corby", "Dudley", "31%"))
    assert "other places share" not in _subtitle(chart)


def test_more_than_fifteen_donors_are_cut_to_fifteen_and_the_rest_counted() -> None:
    data = synthetic_figure(donors=22)
    chart = donor_weights_chart(data, label="Days in care")
    spec = chart.to_dict()
    bars = spec["layer"][0]
    rows = _rows(spec, bars)
    assert len(rows) == MAX_DONORS_SHOWN == 15
    ordered = sorted(data.donors, key=lambda donor: -donor.weight)
    assert [row["place"] for row in rows] == [donor.place for donor in ordered[:15]]
    rest = format_weight(sum(donor.weight for donor in ordered[15:]))
    subtitle = _subtitle(chart)
    assert "The 15 largest are shown; 7 other places share the remaining" in subtitle
    assert f"remaining {rest} of the weight" in subtitle
    drawn = figure(chart).to_svg().split(">", 1)[1]  # past the aria-label, which reads them all
    assert "7 other places share" in drawn
    assert ordered[0].place in drawn and ordered[-1].place not in drawn
    # the description still reads every donor, the cut ones too
    text = figure(chart).description
    assert all(f"{donor.place} {format_weight(donor.weight)}" in text for donor in ordered)


def test_weights_read_as_percents() -> None:
    assert [format_weight(w) for w in (0.314, 0.02, 0.004, 0.0002, 1.0)] == [
        "31%",
        "2%",
        "0.4%",
        "<0.1%",
        "100%",
    ]


def test_typed_names_and_labels_reach_the_svg_as_text_never_as_markup() -> None:
    data = replace(
        synthetic_figure(pilot_name=f"Ashby {HOSTILE}"),
        donors=(Donor(f"Corby {HOSTILE}", 0.6), Donor("Dudley", 0.4)),
    )
    charts = synthetic_charts(data, label=f"Days {HOSTILE}", unit=f"days {HOSTILE}")
    escaped = html.escape(HOSTILE, quote=False)
    for chart in charts:
        svg = figure(chart).to_svg()
        assert not re.search(r"<\s*script", svg, re.I)
        assert f"Days {escaped}" in svg  # the title, as typed
        assert HOSTILE in figure(chart).description  # the words are kept, as words
    legend_and_subtitle = figure(charts[0]).to_svg()
    assert f"Ashby {escaped} (pilot)" in legend_and_subtitle
    bars = figure(charts[2]).to_svg()
    assert f"Corby {escaped}" in bars
