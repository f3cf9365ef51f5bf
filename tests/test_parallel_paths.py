"""The parallel-paths test of a two-by-two difference-in-differences with a date column.

Checked three ways: against statsmodels' formula interface fitted on the same
before-period rows (an independent implementation of the same regression),
in the report's words and evidence rating for a pilot whose groups drift apart,
and by simulation with known truth: with parallel paths the test rejects at
5% about 5% of the time, and it finds a drift of the size pilots worry about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evalkit.analysis import analyse_pilot
from evalkit.card import PilotCard
from evalkit.estimate._common import choose_errors, outcome_rows
from evalkit.estimate.did import parallel_paths_test
from evalkit.report.assessment import assessment_of

from .conftest import PilotFactory

CARD = """\
name: Drift test
place: Testham
design: did
data:
  path: {data_path}
  group: {{column: arm, pilot: pilot, comparison: comparison}}
  period: {{column: phase, post: after, pre: before}}
  time: {{column: month}}
  columns:
    month: {{type: date, required: true}}
outcomes:
  - column: days
    label: Days waiting
    unit: days
    better: lower
"""


def _rows(rng: np.random.Generator, drift: float = 0.0, per_cell: int = 25) -> pd.DataFrame:
    """Return 12 months before and 6 after, pilot and comparison; the pilot drifts by
    ``drift`` days a month before the change (0: parallel paths)."""
    months = pd.period_range("2024-01", periods=18, freq="M")
    rows = []
    for index, month in enumerate(months):
        for arm in ("pilot", "comparison"):
            slope = drift * index if arm == "pilot" else 0.0
            season = 3.0 * np.sin(index / 2)
            values = 100 + season + slope + rng.normal(0, 10, per_cell)
            rows += [
                {
                    "arm": arm,
                    "phase": "before" if index < 12 else "after",
                    "month": month.to_timestamp().strftime("%Y-%m-%d"),
                    "days": round(float(v), 1),
                }
                for v in values
            ]
    return pd.DataFrame(rows)


def _pilot(make_pilot: PilotFactory, frame: pd.DataFrame) -> tuple[PilotCard, pd.DataFrame]:
    folder = make_pilot(CARD, frame.to_csv(index=False))
    analysis = analyse_pilot(folder)
    return analysis.card, analysis.validation.valid


def test_the_slope_test_matches_statsmodels_formula_on_the_before_rows(
    make_pilot: PilotFactory,
) -> None:
    card, valid = _pilot(make_pilot, _rows(np.random.default_rng(7), drift=0.4))
    rows = outcome_rows(valid, card.outcomes[0])
    y = rows["days"].to_numpy(dtype="float64")
    periods, p_value = parallel_paths_test(card, rows, y, choose_errors(card, rows))  # type: ignore[misc]
    before = rows[rows["phase"] == "before"].copy()
    before["pilot"] = (before["arm"] == "pilot").astype(float)
    before["ym"] = before["month"].dt.strftime("%Y-%m")
    index = before["ym"].rank(method="dense").to_numpy() - 1
    before["slope"] = before["pilot"] * (index - index.mean())
    fit = smf.ols("days ~ pilot + C(ym) + slope", data=before).fit(cov_type="HC1", use_t=True)
    assert periods == 12
    assert p_value == pytest.approx(float(fit.pvalues["slope"]), rel=1e-9)


def test_groups_drifting_apart_lower_the_level_and_the_report_says_so(
    make_pilot: PilotFactory,
) -> None:
    folder = make_pilot(CARD, _rows(np.random.default_rng(11), drift=1.5).to_csv(index=False))
    analysis = analyse_pilot(folder)
    (finding,) = analysis.findings
    assert finding.checks is not None and finding.checks.pretrend_p is not None
    assert finding.checks.pretrend_p < 0.01
    assert analysis.evidence.level == 2  # lowered from 3
    caveat = assessment_of(analysis).caveat
    assert "Checked over the 12 months before the change" in caveat
    assert "already moving apart for Days waiting" in caveat
    assert any(c.kind == "design" for c in assessment_of(analysis).concerns)


def test_with_parallel_paths_the_test_rejects_about_five_percent_of_the_time(
    make_pilot: PilotFactory,
) -> None:
    card, valid = _pilot(make_pilot, _rows(np.random.default_rng(3)))
    rows = outcome_rows(valid, card.outcomes[0])
    errors = choose_errors(card, rows)
    rng = np.random.default_rng(20261203)
    rejected, found = 0, 0
    draws = 400
    month = rows["month"].dt.strftime("%Y-%m").rank(method="dense").to_numpy() - 1
    pilot = (rows["arm"] == "pilot").to_numpy()
    shared = 100 + 3.0 * np.sin(month / 2) + 0.5 * month  # a path both groups share
    for _ in range(draws):
        y = shared + rng.normal(0, 10, len(rows))
        tested = parallel_paths_test(card, rows, y, errors)
        assert tested is not None
        rejected += tested[1] < 0.05
        drifting = y + 1.0 * month * pilot  # a pilot drifting 1 day a month (0.1 sd)
        tested = parallel_paths_test(card, rows, drifting, errors)
        assert tested is not None
        found += tested[1] < 0.05
    # 400 draws: the Monte-Carlo sd of a 5% rate is 1.1 points
    assert 0.025 <= rejected / draws <= 0.075
    assert found / draws >= 0.8


def test_without_a_date_column_the_test_is_not_run_and_the_report_says_so(
    make_pilot: PilotFactory,
) -> None:
    card = CARD.replace("  time: {{column: month}}\n", "")
    folder = make_pilot(card, _rows(np.random.default_rng(5)).to_csv(index=False))
    analysis = analyse_pilot(folder)
    (finding,) = analysis.findings
    assert finding.checks is None or finding.checks.pretrend_p is None
    assert "could not be checked in the data" in assessment_of(analysis).caveat


def test_numbered_periods_are_ordered_as_numbers_and_a_group_seen_too_rarely_is_not_tested(
    make_pilot: PilotFactory,
) -> None:
    frame = _rows(np.random.default_rng(13), drift=1.5)
    months = sorted(frame["month"].unique())
    frame["month"] = frame["month"].map({m: i + 1 for i, m in enumerate(months)})  # 1 ... 18
    card = CARD.replace("    month: {{type: date, required: true}}", "    month: {{type: int}}")
    analysis = analyse_pilot(make_pilot(card, frame.to_csv(index=False)))
    (finding,) = analysis.findings
    assert finding.checks is not None and finding.checks.pretrend_p is not None
    assert finding.checks.pretrend_p < 0.001  # "10" after "9", not after "1"
    assert "Checked over the 12 periods before the change" in assessment_of(analysis).caveat
    assert "pre-trend test p < 0.001" in " ".join(c.text for c in assessment_of(analysis).concerns)
    # the pilot seen in one month before the change: a slope cannot be told from its level
    rare = frame[
        (frame["arm"] == "comparison") | (frame["phase"] == "after") | (frame["month"] == 12)
    ]
    analysis = analyse_pilot(make_pilot(card, rare.to_csv(index=False), folder="rare"))
    (finding,) = analysis.findings
    assert finding.checks is None or finding.checks.pretrend_p is None
    assert "could not be checked in the data: too few periods" in assessment_of(analysis).caveat
