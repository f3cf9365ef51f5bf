"""Reading an outcome's processes from records: groups apart, phases apart, small periods hidden."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.card.model import DataSpec, GroupRole, Outcome, PeriodRole, PilotCard, TimeRole
from evalkit.quality.spc_build import MIN_SPC_PERIODS, outcome_processes, reading_of


def card_with(data: DataSpec, *outcomes: Outcome, min_cell_count: int = 3) -> PilotCard:
    return PilotCard(
        name="Test",
        place="Testham",
        design="its",
        data=data,
        outcomes=outcomes,
        min_cell_count=min_cell_count,
    )


DONE = Outcome(column="done", type="binary", better="higher")
DAYS = Outcome(column="days", better="lower")


def test_numeric_periods_sort_as_numbers_and_small_periods_are_hidden() -> None:
    weeks = [w for w in range(1, 11) for _ in range(4)] + [11, 11]  # week 11 has 2 records
    frame = pd.DataFrame({"week": weeks, "days": np.arange(len(weeks), dtype=float)})
    card = card_with(DataSpec(path="x.csv", time=TimeRole(column="week")), DAYS)
    (chart,), skipped = outcome_processes(card, frame, DAYS)
    assert skipped == []
    assert chart.periods == tuple(str(w) for w in range(1, 11))
    assert chart.values[0] == pytest.approx(1.5)  # the mean of 0, 1, 2, 3
    assert chart.suppressed_periods == 1
    assert chart.kind == "xmr" and chart.group is None and chart.phase is None


def test_too_few_periods_are_skipped_with_the_process_named() -> None:
    frame = pd.DataFrame({"week": [1, 1, 1, 2, 2, 2], "days": [1.0] * 6})
    card = card_with(DataSpec(path="x.csv", time=TimeRole(column="week")), DAYS)
    charts, skipped = outcome_processes(card, frame, DAYS)
    assert charts == []
    assert skipped == [
        f"chart over time of Days (everyone): fewer than {MIN_SPC_PERIODS} periods with 3+ records"
    ]


def test_groups_are_charted_apart_and_phases_in_order_share_a_chart() -> None:
    rows = [
        (arm, week, "after" if week > 5 else "before", 10.0 if arm == "pilot" else 30.0)
        for arm in ("pilot", "comparison")
        for week in range(1, 11)
        for _ in range(3)
    ]
    frame = pd.DataFrame(rows, columns=["arm", "week", "phase", "days"])
    data = DataSpec(
        path="x.csv",
        group=GroupRole(column="arm", pilot="pilot", comparison="comparison"),
        period=PeriodRole(column="phase", post="after", pre="before"),
        time=TimeRole(column="week", start=6),
    )
    charts, _ = outcome_processes(card_with(data, DAYS), frame, DAYS)
    assert [c.group for c in charts] == ["pilot", "comparison"]
    assert [set(c.values) for c in charts] == [{10.0}, {30.0}]
    for chart in charts:
        assert chart.phases == ("before",) * 5 + ("after",) * 5
        assert chart.change_at == "6"


def test_phases_that_overlap_in_time_get_a_chart_each() -> None:
    # baseline and follow-up assessments in the same weeks
    rows = [
        (week, timepoint, 40.0 if timepoint == "baseline" else 50.0)
        for week in range(1, 11)
        for timepoint in ("baseline", "follow-up")
        for _ in range(3)
    ]
    frame = pd.DataFrame(rows, columns=["week", "timepoint", "days"])
    data = DataSpec(
        path="x.csv",
        period=PeriodRole(column="timepoint", post="follow-up", pre="baseline"),
        time=TimeRole(column="week"),
    )
    charts, _ = outcome_processes(card_with(data, DAYS), frame, DAYS)
    assert [c.phase for c in charts] == ["baseline", "follow-up"]
    assert [set(c.values) for c in charts] == [{40.0}, {50.0}]
    assert [c.process for c in charts] == ["everyone, baseline", "everyone, follow-up"]


def test_binary_outcomes_are_p_charts_in_percent() -> None:
    frame = pd.DataFrame({"week": [w for w in range(1, 9) for _ in range(40)]})
    frame["done"] = ([1] * 10 + [0] * 30) * 8
    card = card_with(DataSpec(path="x.csv", time=TimeRole(column="week")), DONE)
    (chart,), _ = outcome_processes(card, frame, DONE)
    assert chart.kind == "p"
    assert set(chart.values) == {25.0}
    assert chart.upper[0] == pytest.approx(100 * (0.25 + 3 * (0.25 * 0.75 / 40) ** 0.5))


def test_a_share_resting_on_few_yeses_or_noes_is_not_shown() -> None:
    # 40 records a week, but in weeks 1 and 2 only 4 have the outcome: those shares would
    # give a count under 10, so they are left out and counted as not shown
    frame = pd.DataFrame({"week": [w for w in range(1, 11) for _ in range(40)]})
    frame["done"] = [int(i < (4 if w <= 2 else 12)) for w in range(1, 11) for i in range(40)]
    card = card_with(DataSpec(path="x.csv", time=TimeRole(column="week")), DONE, min_cell_count=10)
    (chart,), _ = outcome_processes(card, frame, DONE)
    assert chart.periods == tuple(str(w) for w in range(3, 11))
    assert chart.suppressed_periods == 2


def test_counts_with_a_population_are_u_charts_per_1000() -> None:
    count = Outcome(column="in_ta", type="count", better="lower")
    data = DataSpec(path="x.csv", time=TimeRole(column="week"), population="households")
    card = card_with(data, count)
    assert reading_of(card, count).kind == "u"
    frame = pd.DataFrame(
        {
            "week": [w for w in range(1, 9) for _ in range(3)],
            "in_ta": [2, 3, 5] * 8,
            "households": [1000, 1000, 2000] * 8,
        }
    )
    (chart,), _ = outcome_processes(card, frame, count)
    assert chart.values == pytest.approx((2.5,) * 8)  # 10 per 4,000 households
    u, n = 10 / 4000, 4000
    assert chart.upper[0] == pytest.approx(1000 * (u + 3 * (u / n) ** 0.5))
    no_population = card_with(DataSpec(path="x.csv", time=TimeRole(column="week")), count)
    assert reading_of(no_population, count).scale == 1.0
    assert reading_of(card, DAYS).kind == "xmr"
