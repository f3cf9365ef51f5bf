"""The synthetic design's estimator: the published worked example, a second implementation,
the placebo test and its interval, and reading a panel of places.

Simulations with known truth are in tests/test_synthetic_simulation.py (slow).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthdid
from synthdid.datasets import load_california_prop99
from synthdid.estimate import refit
from synthdid.vcov import jackknife_se

from evalkit.analysis import analyse_pilot
from evalkit.card import load_pilot
from evalkit.contract import validate_data
from evalkit.errors import EstimationError
from evalkit.estimate import _sdid
from evalkit.estimate._synthetic_places import Places, read_places
from evalkit.estimate.registry import design_of
from evalkit.estimate.synthetic import (
    _jackknife_se,
    estimate_synthetic,
    fit_places,
    half_width,
    permutation_p,
)
from tests.conftest import REPO
from tests.designs import synthetic as synthetic_pilot


@pytest.fixture(scope="module")
def california() -> Places:
    """Per-capita cigarette sales in 39 US states, 1970-2000; California treated from 1989."""
    frame = load_california_prop99()
    table = frame.pivot(index="State", columns="Year", values="PacksPerCapita")
    names = list(table.index)
    pilot = names.index("California")
    return Places(
        Y=table.to_numpy(dtype="float64"),
        names=tuple(names),
        periods=tuple(str(y) for y in table.columns),
        pilot=np.array([pilot]),
        donors=np.array([i for i in range(len(names)) if i != pilot]),
        pre=int((table.columns < 1989).sum()),
        records=table.size,
        notes=(),
        word="states",
    )


@pytest.fixture(scope="module")
def california_fits(california: Places):  # type: ignore[no-untyped-def]
    return fit_places(california)


def _r_layout(places: Places) -> np.ndarray:
    """Return the matrix as synthdid lays it out: comparison rows first, the pilot's last."""
    return np.vstack([places.Y[places.donors], places.Y[places.pilot]])


def test_california_reproduces_table_1_of_arkhangelsky_et_al(california_fits) -> None:  # type: ignore[no-untyped-def]
    """Arkhangelsky, Athey, Hirshberg, Imbens and Wager (2021), AER 111(12), Table 1:
    SDID -15.6 (8.4), SC -19.6 (9.9), DID -27.3 (17.7) packs per capita."""
    sdid, sc, did = california_fits.main.tau
    assert round(sdid, 1) == -15.6
    assert round(sc, 1) == -19.6
    assert round(did, 1) == -27.3


@pytest.mark.parametrize(("method", "published"), [("sdid", 8.4), ("sc", 9.9), ("did", 17.7)])
def test_table_1_standard_errors_are_what_200_placebo_draws_give(
    california_fits, method: str, published: float
) -> None:  # type: ignore[no-untyped-def]
    """Table 1's standard errors come from 200 random placebo draws (Algorithm 4), so they
    are one draw of a random quantity; with one treated state every draw picks one of the
    38 placebos evalkit computes exactly. The published value must lie in the central 99%
    of what 200 draws from those 38 estimates give."""
    placebo = california_fits.placebo[method].tau
    assert placebo.size == 38
    draws = np.random.default_rng(1).choice(placebo, size=(20_000, 200))
    ses = draws.std(axis=1, ddof=1) * np.sqrt(199 / 200)
    low, high = np.quantile(ses, [0.005, 0.995])
    assert low < published < high
    # and the exact placebo SE is the limit of Algorithm 4 as its draws grow
    assert _sdid.placebo_se(placebo) == pytest.approx(np.median(ses), rel=0.02)


def test_estimates_and_weights_match_the_synthdid_port(california, california_fits) -> None:  # type: ignore[no-untyped-def]
    Y, N0, T0 = _r_layout(california), california.donors.size, california.pre
    for row, function in enumerate(
        (synthdid.synthdid_estimate, synthdid.sc_estimate, synthdid.did_estimate)
    ):
        theirs = function(Y, N0, T0)
        assert california_fits.main.tau[row] == pytest.approx(float(theirs), abs=1e-8)
        ours = california_fits.main.omega[row][california.donors]
        np.testing.assert_allclose(ours, np.asarray(theirs.weights.omega), atol=1e-10)
        lambda_ = california_fits.main.lambda_[row][:T0]
        np.testing.assert_allclose(lambda_, np.asarray(theirs.weights.lambda_), atol=1e-10)


@pytest.mark.parametrize("placebo", [0, 7, 21, 37])
def test_each_placebo_matches_the_synthdid_port_refit(
    california, california_fits, placebo: int
) -> None:  # type: ignore[no-untyped-def]
    """synthdid's placebo standard error re-estimates with the estimate's options, warm
    started from its weights (Algorithm 4); one placebo state here is one draw there."""
    Y, N0, T0 = _r_layout(california), california.donors.size, california.pre
    estimate = synthdid.synthdid_estimate(Y, N0, T0)
    order = np.r_[np.delete(np.arange(N0), placebo), placebo]
    weights = estimate.weights.copy()
    weights.omega = np.asarray(estimate.weights.omega)[order[:-1]]
    weights.omega = weights.omega / weights.omega.sum()
    theirs = refit(
        estimate, Y=Y[order], N0=N0 - 1, T0=T0, X=estimate.setup.X[order], weights=weights
    )
    assert california_fits.placebo["sdid"].tau[placebo] == pytest.approx(float(theirs), abs=1e-8)


def test_the_jackknife_matches_the_synthdid_port_with_several_pilot_places(
    california: Places,
) -> None:
    """Three states 'treated' from 1989: the jackknife (Algorithm 3, weights fixed) agrees."""
    pilot = california.donors[:3]
    places = replace(
        california,
        pilot=pilot,
        donors=np.setdiff1d(np.arange(len(california.names)), pilot),
    )
    fits = fit_places(places)
    Y = np.vstack([places.Y[places.donors], places.Y[places.pilot]])
    theirs = synthdid.synthdid_estimate(Y, places.donors.size, places.pre)
    assert fits.main.tau[0] == pytest.approx(float(theirs), abs=1e-8)
    assert _jackknife_se(places, fits.main) == pytest.approx(jackknife_se(theirs), rel=1e-8)
    assert not fits.enumerated and len(fits.assignments) == 200  # 8,436 ways: drawn


def test_solving_together_changes_nothing(california: Places) -> None:
    Y, pilot, donors, T0 = california.Y, california.pilot, california.donors, california.pre
    problems = [
        _sdid.problem(Y, "sdid", pilot, donors, T0, Y.shape[1]),
        _sdid.problem(Y, "sc", pilot, donors, T0, Y.shape[1]),
        _sdid.problem(Y, "sdid", donors[:1], donors[1:], T0 - 5, T0),
    ]
    together = _sdid.solve(Y, problems)
    for row, alone in enumerate(problems):
        single = _sdid.solve(Y, [alone])
        assert together.tau[row] == pytest.approx(single.tau[0], abs=1e-12)
        np.testing.assert_allclose(together.omega[row], single.omega[0], atol=1e-12)


def test_the_p_value_is_never_below_one_over_the_places() -> None:
    placebo = np.linspace(-1, 1, 29)
    assert permutation_p(100.0, placebo) == pytest.approx(1 / 30)
    assert permutation_p(0.0, placebo) == 1.0
    # 8 placebos at or above 0.5 and 8 at or below -0.5 (0.5 itself counts), and the pilot
    assert permutation_p(0.5, placebo) == pytest.approx((1 + 16) / 30)


@pytest.mark.parametrize("size", [19, 29, 39, 60])
def test_the_interval_inverts_the_placebo_test(size: int) -> None:
    """Every change inside the interval keeps p > 0.05; just outside, p <= 0.05."""
    rng = np.random.default_rng(size)
    placebo, estimate = rng.normal(0, 2, size), 3.3
    half = half_width(placebo)
    assert np.isfinite(half)
    for change in (estimate - half + 1e-9, estimate, estimate + half - 1e-9):
        assert permutation_p(estimate - change, placebo) > 0.05
    for change in (estimate - half - 1e-6, estimate + half + 1e-6):
        assert permutation_p(estimate - change, placebo) <= 0.05


def test_with_fewer_than_19_comparison_places_there_is_no_interval() -> None:
    assert half_width(np.ones(18)) == np.inf
    assert np.isfinite(half_width(np.ones(19)))


def _pilot_folder(tmp_path: Path, card: str, frame: pd.DataFrame) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "pilot.yaml").write_text(card, encoding="utf-8")
    frame.to_csv(tmp_path / "data" / "records.csv", index=False)
    return tmp_path


def test_a_pilot_with_a_missing_period_is_refused_with_the_place_named(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    frame = frame[~((frame["district"] == "Ashby") & (frame["month"] == "2024-03-01"))]
    pilot = load_pilot(_pilot_folder(tmp_path, card, frame))
    with pytest.raises(EstimationError) as error:
        read_places(pilot, validate_data(pilot).valid, pilot.outcomes[0])
    assert "Ashby" in str(error.value) and "2024-03-01" in str(error.value)


def test_a_comparison_place_with_a_gap_is_left_out_and_said(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    frame = frame[~((frame["district"] == "District C") & (frame["month"] == "2024-03-01"))]
    pilot = load_pilot(_pilot_folder(tmp_path, card, frame))
    places = read_places(pilot, validate_data(pilot).valid, pilot.outcomes[0])
    assert "District C" not in [places.names[d] for d in places.donors]
    assert places.donors.size == 22
    assert any("District C was left out" in note for note in places.notes)


def test_counts_with_a_population_become_rates_per_1000(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    card = card.replace("  time:", "  population: residents\n  time:")
    frame["residents"] = 500
    pilot = load_pilot(_pilot_folder(tmp_path, card, frame))
    valid = validate_data(pilot).valid
    places = read_places(pilot, valid, pilot.outcomes[2])
    cell = frame[(frame["district"] == "Ashby") & (frame["month"] == "2024-01-01")]
    by_hand = 1000 * cell["missed"].sum() / cell["residents"].sum()
    assert places.Y[places.pilot[0], 0] == pytest.approx(by_hand)
    finding = estimate_synthetic(pilot, valid, pilot.outcomes[2]).finding
    assert finding.unit == "appointments per 1,000 residents"  # the card's unit, as a rate
    assert finding.scale == "difference"


def test_staggered_starts_are_refused_plainly(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    card = card.replace("start: 2024-11-01", "start_column: opened")
    frame["opened"] = np.where(frame["district"] == "Ashby", "2024-11-01", "")
    card = card.replace("outcomes:", "  columns:\n    opened: {type: date}\noutcomes:", 1)
    pilot = load_pilot(_pilot_folder(tmp_path, card, frame))
    with pytest.raises(EstimationError, match="one start"):
        read_places(pilot, validate_data(pilot).valid, pilot.outcomes[0])


def test_a_pilot_outside_the_comparison_places_is_rated_lower(tmp_path: Path) -> None:
    """A pilot rising faster than every other place before the change: no mix can follow it."""
    card, frame = synthetic_pilot(np.random.default_rng(3))
    ashby = frame["district"] == "Ashby"
    month = pd.to_datetime(frame["month"]).dt.month.to_numpy()
    frame.loc[ashby, "wellbeing"] += 6.0 * month[ashby.to_numpy()]
    analysis = analyse_pilot(_pilot_folder(tmp_path, card, frame))
    checks = analysis.findings[0].checks
    assert checks is not None and checks.outside_hull and checks.outside_levels
    assert analysis.evidence.level < 3
    assert any("outside every comparison place" in why for why in analysis.evidence.why)


def test_a_unit_that_names_people_is_refused(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    card = card.replace("district", "person_id")
    frame = frame.rename(columns={"district": "person_id"})
    pilot = load_pilot(_pilot_folder(tmp_path, card, frame))
    with pytest.raises(EstimationError, match="names people"):
        read_places(pilot, validate_data(pilot).valid, pilot.outcomes[0])


def test_with_12_places_the_report_says_no_interval_can_be_given(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    kept = ["Ashby"] + [f"District {chr(65 + p)}" for p in range(11)]
    analysis = analyse_pilot(_pilot_folder(tmp_path, card, frame[frame["district"].isin(kept)]))
    for finding in analysis.findings:
        assert not finding.bounded
        assert finding.p_value is not None and finding.p_value >= 1 / 12
        assert finding.inference is not None and finding.inference.unbounded
        assert "no 95% interval" in finding.inference.note
        assert "At least 19 comparison districts are needed" in finding.inference.note
    assert any("too few for any 95% interval" in why for why in analysis.evidence.why)
    assert "rest on too few places for any 95% interval" in analysis.findings[0].summary


def test_a_pilot_with_no_figure_for_an_outcome_is_refused_plainly(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    frame.loc[frame["district"] == "Ashby", "wellbeing"] = np.nan
    pilot = load_pilot(_pilot_folder(tmp_path, card, frame))
    with pytest.raises(EstimationError, match="no pilot place \\(Ashby\\) has a 'wellbeing'"):
        read_places(pilot, validate_data(pilot).valid, pilot.outcomes[0])


def test_fewer_comparison_places_than_pilot_places_is_refused(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    three = "[Ashby, District A, District B]"
    card = card.replace("pilot: Ashby}", f"pilot: {three}, comparison: [District C, District D]}}")
    kept = ["Ashby", "District A", "District B", "District C", "District D"]
    pilot = load_pilot(_pilot_folder(tmp_path, card, frame[frame["district"].isin(kept)]))
    with pytest.raises(EstimationError, match="more comparison places than pilot places"):
        read_places(pilot, validate_data(pilot).valid, pilot.outcomes[0])


def test_comparison_values_are_read_from_the_group_column(tmp_path: Path) -> None:
    """An arm column naming pilot and comparison rows, not the place column itself."""
    card, frame = synthetic_pilot(np.random.default_rng(3))
    card = card.replace(
        "group: {column: district, pilot: Ashby}",
        "group: {column: arm, pilot: pilot, comparison: usual}",
    )
    frame["arm"] = np.where(frame["district"] == "Ashby", "pilot", "usual")
    pilot = load_pilot(_pilot_folder(tmp_path, card, frame))
    places = read_places(pilot, validate_data(pilot).valid, pilot.outcomes[0])
    assert places.donors.size == 23 and [places.names[p] for p in places.pilot] == ["Ashby"]


def _months(frame: pd.DataFrame) -> np.ndarray:
    """Return each row's month as a position from January 2024."""
    stamps = pd.to_datetime(frame["month"])
    return ((stamps.dt.year - 2024) * 12 + stamps.dt.month - 1).to_numpy()


def _shaken(
    frame: pd.DataFrame, places: list[str], sd: float, *, before_only: bool, seed: int = 9
) -> None:
    """Add one seeded shock a month to the named places' wellbeing, the same for each."""
    months = _months(frame)
    shocks = np.random.default_rng(seed).normal(0, sd, 16)
    rows = frame["district"].isin(places).to_numpy() & (months < 10 if before_only else True)
    frame.loc[rows, "wellbeing"] += shocks[months[rows]]


def _analysed(tmp_path: Path, frame: pd.DataFrame, card: str):  # type: ignore[no-untyped-def]
    analysis = analyse_pilot(_pilot_folder(tmp_path, card, frame))
    checks = analysis.findings[0].checks
    assert checks is not None
    doubts = design_of(analysis.card).doubts(analysis.findings[0])
    return analysis, checks, doubts


def test_a_pilot_the_comparison_cannot_follow_before_the_change_is_rated_lower(
    tmp_path: Path,
) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    _shaken(frame, ["Ashby"], 12.0, before_only=True)
    analysis, checks, doubts = _analysed(tmp_path, frame, card)
    assert checks.poor_fit and checks.worse_fits is not None and checks.worse_fits <= 2
    assert any("matched the pilot less well" in why for why in analysis.evidence.why)
    assert any("may be partly a poor match" in doubt for doubt in doubts)


def test_a_pilot_drifting_away_before_the_change_fails_the_in_time_placebo(
    tmp_path: Path,
) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(3))
    ashby = (frame["district"] == "Ashby").to_numpy()
    frame.loc[ashby, "wellbeing"] += 4.0 * np.clip(_months(frame)[ashby] - 4, 0, 6)
    analysis, checks, doubts = _analysed(tmp_path, frame, card)
    assert checks.in_time_p is not None and checks.in_time_p <= 0.05
    assert checks.in_time_periods == 5
    assert any("in-time placebo p = 0.042" in why for why in analysis.evidence.why)
    assert any("5 periods earlier already finds a gap" in doubt for doubt in doubts)


def test_a_comparison_resting_on_one_place_is_called_unstable(tmp_path: Path) -> None:
    """The pilot shares its month-to-month shocks with District C alone."""
    card, frame = synthetic_pilot(np.random.default_rng(3))
    _shaken(frame, ["Ashby", "District C"], 10.0, before_only=False, seed=5)
    analysis, checks, doubts = _analysed(tmp_path, frame, card)
    assert checks.unstable_weights and checks.leave_one_out_place == "District C"
    assert checks.leave_one_out_shift is not None
    assert checks.leave_one_out_shift > analysis.findings[0].se
    assert any("leaving out a single comparison place" in why for why in analysis.evidence.why)
    assert any("leaving District C out of the comparison alone" in d for d in doubts)


def test_who_is_compared_says_how_many_places_each_finding_used() -> None:
    """Harrowfield's data hold 29 other councils; two are left out of each comparison."""
    from evalkit.report.findings import how_sure_lines

    analysis = analyse_pilot(REPO / "pilots" / "harrowfield-prevention")
    who = how_sure_lines(analysis)[0]
    assert "the other 29 are the comparison, where they have a figure in every period" in who
    assert "27 for households in temporary accommodation" in who
    assert all(f.checks is not None and f.checks.comparison_places == 27 for f in analysis.findings)
