"""Charts over time on every example pilot: one process a chart, one summary, one line a measure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.analysis import Analysis
from evalkit.contract import pilot_mask, post_mask
from evalkit.quality.spc_process import ProcessChart
from evalkit.report.spc import HEADING, spc_figures, spc_markdown

PILOTS = Path(__file__).resolve().parents[1] / "pilots"
NAMES = sorted(p.name for p in PILOTS.iterdir() if (p / "pilot.yaml").exists())


@pytest.fixture(scope="module")
def analyses() -> dict[str, Analysis]:
    return {name: ek.analyse_pilot(PILOTS / name) for name in NAMES}


def charts_of(analysis: Analysis) -> list[ProcessChart]:
    return [chart for over in analysis.quality.over_time.values() for chart in over.charts]


def monthly(rows: pd.DataFrame, time: str, column: str, minimum: int) -> pd.Series:
    """Return each month's mean outcome, recomputed here, for months with enough records."""
    month = rows[time].dt.strftime("%Y-%m") if hasattr(rows[time], "dt") else rows[time]
    grouped = rows[column].astype(float).groupby(month.to_numpy()).agg(["mean", "count"])
    means: pd.Series = grouped.loc[grouped["count"] >= minimum, "mean"]
    return means


def test_every_example_pilot_was_found() -> None:
    assert {"northbridge-ta", "eastmoor-family-hub", "westmere-social-work"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_no_chart_mixes_groups_or_phases(analyses: dict[str, Analysis], name: str) -> None:
    analysis = analyses[name]
    card, frame = analysis.card, analysis.validation.valid
    for chart in charts_of(analysis):
        assert chart.group in ({"pilot", "comparison"} if card.data.group else {None})
        # each limit set covers one phase, and a phase never comes back
        for segment in chart.segments:
            assert len(set(chart.phases[segment.start : segment.end + 1])) == 1
        assert len(chart.segments) == len(set(chart.phases))
        outcome = next(o for o in card.outcomes if o.name == chart.measure)
        if outcome.type != "continuous" or card.data.time is None:
            continue
        # recompute each point from the records of this group and phase alone
        in_group = np.ones(len(frame), dtype=bool)
        if chart.group is not None:
            in_group = pilot_mask(card, frame)
            in_group = in_group if chart.group == "pilot" else ~in_group
        after = post_mask(card, frame)
        for phase in set(chart.phases):
            rows = frame[in_group & (after if phase == "after" else ~after)]
            if phase == "":
                rows = frame[in_group]
            expected = monthly(rows, card.data.time.column, outcome.column, card.min_cell_count)
            shown = {
                p: v
                for p, v, ph in zip(chart.periods, chart.values, chart.phases, strict=True)
                if ph == phase
            }
            assert shown == pytest.approx({p: expected[p] for p in shown})


def test_northbridge_charts_pilot_and_comparison_apart(analyses: dict[str, Analysis]) -> None:
    over = analyses["northbridge-ta"].quality.over_time["Days in temporary accommodation"]
    assert [c.group for c in over.charts] == ["pilot", "comparison"]
    for chart in over.charts:
        assert [s.label for s in chart.segments] == ["before the change", "after the change"]
        assert chart.change_at == "2025-04"
    means = {c.group: [round(s.centre) for s in c.segments] for c in over.charts}
    assert means["pilot"] != means["comparison"]
    table = spc_markdown(analyses["northbridge-ta"])
    assert "Mean 156" not in table  # the old chart pooled both groups


def test_eastmoor_baseline_and_follow_up_are_separate_charts(
    analyses: dict[str, Analysis],
) -> None:
    over = analyses["eastmoor-family-hub"].quality.over_time["Parental wellbeing (WEMWBS score)"]
    assert [c.phase for c in over.charts] == ["baseline", "follow-up"]
    assert all(len(c.segments) == 1 for c in over.charts)
    # the follow-up schedule no longer shows as special causes
    assert all(c.causes == () for c in over.charts)


def test_eastmoor_small_months_are_suppressed_and_counted(analyses: dict[str, Analysis]) -> None:
    analysis = analyses["eastmoor-family-hub"]
    card, frame = analysis.card, analysis.validation.valid
    (baseline, _) = analysis.quality.over_time["Parental wellbeing (WEMWBS score)"].charts
    rows = frame[~post_mask(card, frame)].dropna(subset=["wellbeing"])
    per_month = rows["assessment_date"].dt.strftime("%Y-%m").value_counts()
    small = per_month[per_month < card.min_cell_count]
    assert baseline.suppressed_periods == len(small) > 0
    assert not set(small.index) & set(baseline.periods)
    assert min(baseline.counts) >= card.min_cell_count


def test_binary_outcomes_get_p_charts(analyses: dict[str, Analysis]) -> None:
    over = analyses["westmere-social-work"].quality.over_time["Re-referred within 12 months"]
    (chart,) = over.charts
    assert chart.kind == "p"
    # limits follow each month's records: more records, narrower limits
    widths = np.asarray(chart.upper) - np.asarray(chart.lower)
    counts = np.asarray(chart.counts)
    before = slice(chart.segments[0].start, chart.segments[0].end + 1)
    assert np.corrcoef(widths[before], counts[before])[0, 1] < 0


@pytest.mark.parametrize("name", NAMES)
def test_special_causes_are_one_line_per_measure(analyses: dict[str, Analysis], name: str) -> None:
    signals = [s for s in analyses[name].signals if s.kind == "special-cause"]
    measures = Counter(s.message.split(":", 1)[0] for s in signals)
    assert all(count == 1 for count in measures.values())
    assert all("\n" not in s.message for s in signals)


@pytest.mark.parametrize("name", NAMES)
def test_summary_table_has_a_row_per_chart(analyses: dict[str, Analysis], name: str) -> None:
    analysis = analyses[name]
    text, charts = spc_markdown(analysis), charts_of(analysis)
    if not charts:
        assert text == ""
        assert spc_figures(analysis) == []
        return
    assert text.startswith(HEADING)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(charts)  # the header, then one row a process
    figures = spc_figures(analysis)
    assert len(figures) == len(charts)
    for chart, fig in zip(charts, figures, strict=True):
        assert chart.process in fig.description
        assert chart.variation in fig.description


def test_table_warns_of_trial_limits(analyses: dict[str, Analysis]) -> None:
    text = spc_markdown(analyses["eastmoor-family-hub"])
    assert "11 points, trial limits" in text
    assert "Trial limits \\(11 points; 15 wanted\\)" in text
