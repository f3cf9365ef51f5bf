"""Planning a synthetic comparison: the placebo test rehearsed on the periods before the change.

The plan treats every place in turn as if it had been the pilot, on the periods
before the change with the last of them pretended "after"; the critical gap q
is the half-width the placebo test would give and sigma the gaps' sd, so the
MDE is q + z(power) sigma. Checked here: the numbers against the same gaps
recomputed by hand and against plain difference-in-differences on a panel of
parallel paths with a known noise sd; the words, when there are enough places
and when there are too few; the command line. A simulation of the real
estimator at the planned MDE (slow) checks the power is about what was planned.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from evalkit.analysis import analyse_pilot
from evalkit.card import PilotCard, load_pilot
from evalkit.cli import cli
from evalkit.contract import validate_data
from evalkit.errors import EstimationError
from evalkit.estimate import _sdid
from evalkit.estimate._synthetic_places import Places
from evalkit.estimate.power import Mde, minimum_detectable_effect, plan_pilot, power_summary
from evalkit.estimate.synthetic import fit_places, permutation_p
from evalkit.report.findings import underpowered_markdown
from tests.designs import synthetic as synthetic_pilot

WELLBEING = "{column: wellbeing, label: Wellbeing score, unit: points, better: higher"


def _folder(path: Path, card: str, frame: pd.DataFrame) -> Path:
    (path / "data").mkdir(parents=True)
    (path / "pilot.yaml").write_text(card, encoding="utf-8")
    frame.to_csv(path / "data" / "records.csv", index=False)
    return path


def _loaded(folder: Path) -> tuple[PilotCard, pd.DataFrame]:
    card = load_pilot(folder)
    return card, validate_data(card).valid


def _districts(tmp_path: Path, places: int = 24, hoped: float | None = None) -> Path:
    """Return the tests/designs.py synthetic pilot (seed 2026), with its first ``places``."""
    card, frame = synthetic_pilot(np.random.default_rng(2026))
    kept = list(dict.fromkeys(frame["district"]))[:places]
    if hoped is not None:
        card = card.replace(WELLBEING + "}", WELLBEING + f", hoped_change: {hoped}}}")
    return _folder(tmp_path / f"districts-{places}", card, frame[frame["district"].isin(kept)])


@pytest.fixture(scope="module")
def district_plan(tmp_path_factory: pytest.TempPathFactory) -> list[Mde]:
    return plan_pilot(*_loaded(_districts(tmp_path_factory.mktemp("plan"), hoped=5)))


# --- the tests/designs.py pilot -------------------------------------------------------------------


def test_the_synthetic_pilot_is_planned_outcome_by_outcome(district_plan: list[Mde]) -> None:
    assert [m.outcome for m in district_plan] == ["wellbeing", "housed", "missed"]
    for mde in district_plan:
        assert mde.design == "synthetic" and math.isfinite(mde.mde) and mde.mde > 0
        assert mde.clusters == 24 and mde.n_pilot == 1 and mde.n_comparison == 23
        assert mde.n == 24 * 16 * 5  # the records the places' figures average
        assert mde.power_to_detect(mde.mde) == pytest.approx(0.8, abs=1e-6)
        factor = 100 if mde.outcome_type == "binary" else 1
        assert mde.mde == pytest.approx(mde.multiplier * mde.se * factor)
    wellbeing, housed, _ = district_plan
    assert housed.unit == "percentage points" and 0 < housed.se < 1  # a share, shown x100
    assert (
        "from the 10 periods before the change, treating each of the 24 districts in turn "
        "as if it had been the pilot" in power_summary([wellbeing])
    )


def test_power_is_the_normal_approximation_to_the_placebo_test(district_plan: list[Mde]) -> None:
    """power = Phi((|change| - q) / sigma), q the critical gap and sigma the gaps' sd."""
    wellbeing, housed, _ = district_plan
    for mde, factor in ((wellbeing, 1.0), (housed, 100.0)):
        q, sigma = mde.critical * mde.se * factor, mde.se * factor  # type: ignore[operator]
        for change in (0.0, q, -q, mde.mde, 2 * mde.mde):
            expected = stats.norm.cdf((abs(change) - q) / sigma)
            assert mde.power_to_detect(change) == pytest.approx(expected, abs=1e-12)
    assert wellbeing.hoped_change == 5
    assert wellbeing.detectable() is (wellbeing.mde <= 5)


def test_the_words_say_what_the_places_can_detect(district_plan: list[Mde]) -> None:
    text = power_summary(district_plan)
    assert (
        "With the pilot and 23 comparison districts, 10 periods before the change and 6 "
        "after, this pilot can expect to detect a change in wellbeing score of about" in text
    )
    assert "a rise in settled housing of about" in text
    assert "normal approximation to the placebo test" in text
    assert "clusters" not in text  # the generic cluster advice is not for places


# --- a hand-made panel: parallel paths plus noise of a known sd --------------------------------

PLACES, PERIODS, PRE, NOISE = 40, 15, 12, 1.0

HAND_MADE = """\
name: Parallel places
place: Testford
design: synthetic
data:
  path: data/records.csv
  unit: place
  group: {column: place, pilot: P00}
  time: {column: month, start: 2025-01-01}
outcomes:
  - {column: score, label: Score, unit: points, better: higher}
"""


def _paths(rng: np.random.Generator, effect: float = 0.0) -> np.ndarray:
    """Return places x periods: a level each, one shared path, noise of sd NOISE; the pilot
    (row 0) moved by ``effect`` after the change."""
    level = rng.normal(0, 2, (PLACES, 1))
    path = 3 * np.sin(np.arange(PERIODS) / 3)
    Y = level + path[None, :] + rng.normal(0, NOISE, (PLACES, PERIODS))
    Y[0, PRE:] += effect
    return Y


def _planned(Y: np.ndarray, folder: Path) -> Mde:
    months = pd.date_range("2024-01-01", periods=PERIODS, freq="MS")
    frame = pd.DataFrame(
        [
            {"place": f"P{i:02d}", "month": month.date().isoformat(), "score": Y[i, t]}
            for i in range(PLACES)
            for t, month in enumerate(months)
        ]
    )
    (mde,) = plan_pilot(*_loaded(_folder(folder, HAND_MADE, frame)))
    return mde


def test_q_and_sigma_are_the_placebo_gaps_recomputed_by_hand(tmp_path: Path) -> None:
    Y = _paths(np.random.default_rng(0))
    mde = _planned(Y, tmp_path / "pilot")
    # 3 periods after the change, at most a third of the 12 before: the last 3 of them
    k, window = 3, Y[:, :PRE]
    everyone = np.arange(PLACES)
    problems = [
        _sdid.problem(window, "sdid", np.array([i]), np.delete(everyone, i), PRE - k, PRE)
        for i in everyone
    ]
    gaps = _sdid.solve(window, problems).tau
    # the placebo test with 39 comparison places rejects beyond floor(0.05 x 40) = 2 gaps;
    # with 40 gaps to judge by, the critical gap is the floor(0.05 x 41) = 2nd largest
    q, sigma = np.sort(np.abs(gaps))[-2], np.std(gaps)
    assert mde.se == pytest.approx(sigma, rel=1e-9)
    assert mde.critical * mde.se == pytest.approx(q, rel=1e-9)  # type: ignore[operator]
    assert mde.mde == pytest.approx(q + stats.norm.ppf(0.8) * sigma, rel=1e-9)
    # first principles: with equal weights, a placebo gap is the place's noise less the
    # others' mean, after (k periods) less before (PRE - k): its sd is known
    did_sd = NOISE * math.sqrt((1 / k + 1 / (PRE - k)) * (1 + 1 / (PLACES - 1)))
    assert sigma == pytest.approx(did_sd, rel=0.2)
    pilot_mean = window[:, PRE - k :].mean(axis=1) - window[:, : PRE - k].mean(axis=1)
    by_hand = pilot_mean - (pilot_mean.sum() - pilot_mean) / (PLACES - 1)
    assert sigma == pytest.approx(np.std(by_hand), rel=0.2)
    # and q is about the 95th percentile of |N(0, sigma)|: 2 sds, give or take its noise
    assert 1.4 < q / sigma < 2.8
    assert mde.power_to_detect(q) == pytest.approx(0.5)


@pytest.mark.slow
def test_the_real_estimator_finds_a_change_of_the_planned_size_80_percent_of_the_time(
    tmp_path: Path,
) -> None:
    """200 panels from the model with the pilot moved by the planned MDE, each estimated by
    fit_places and tested by its placebos: the change is found 80% +- 8% of the time.

    One panel's plan is itself noisy (its critical gap is the 2nd largest of 40, whose
    spread is a third of sigma), so the effect put in is the median of nine plans.
    """
    plans = [_planned(_paths(np.random.default_rng(s)), tmp_path / f"p{s}") for s in range(9)]
    effect = float(np.median([m.mde for m in plans]))
    rng = np.random.default_rng(99)
    names = tuple(f"P{i:02d}" for i in range(PLACES))
    found = []
    for _ in range(200):
        places = Places(
            Y=_paths(rng, effect),
            names=names,
            periods=tuple(str(t) for t in range(PERIODS)),
            pilot=np.array([0]),
            donors=np.arange(1, PLACES),
            pre=PRE,
            records=PLACES * PERIODS,
            notes=(),
            word="places",
        )
        fits = fit_places(places)
        found.append(permutation_p(float(fits.main.tau[0]), fits.placebo["sdid"].tau) <= 0.05)
    assert np.mean(found) == pytest.approx(0.8, abs=0.08)


# --- too few places, too few periods ------------------------------------------------------------


def test_too_few_places_say_plainly_that_no_change_can_be_shown(tmp_path: Path) -> None:
    plans = plan_pilot(*_loaded(_districts(tmp_path, places=12, hoped=5)))
    assert len(plans) == 3
    for mde in plans:
        assert math.isinf(mde.mde) and mde.power_to_detect(1e9) == 0.0
    wellbeing = plans[0]
    assert wellbeing.detectable() is False
    text = power_summary([wellbeing])
    assert text.startswith(
        "With the pilot and 11 comparison districts, 10 periods before the change and 6 after, "
        "no change in wellbeing score can be shown at 5% significance, however large."
    )
    assert "even the largest gap would arise by chance 1 time in 12" in text
    assert "At least 19 comparison districts (20 in all) are needed, rather than 11." in text
    assert "The team hopes for 5 points, but with this many districts no change of any size" in text
    assert "inf" not in text and "clusters" not in text


def test_the_report_notes_that_too_few_places_cannot_show_the_hoped_change(
    tmp_path: Path,
) -> None:
    analysis = analyse_pilot(_districts(tmp_path, places=12, hoped=5))
    note = underpowered_markdown(analysis)
    assert note.startswith("**Is the pilot big enough?**")
    assert "no change in wellbeing score can be shown" in note


def test_too_few_periods_before_the_change_is_a_plain_error(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(2026))
    card = card.replace("start: 2024-11-01", "start: 2024-04-01")  # 3 periods before
    with pytest.raises(EstimationError, match="only 3 period") as caught:
        plan_pilot(*_loaded(_folder(tmp_path / "short", card, frame)))
    assert "at least 4" in str(caught.value) and caught.value.hint


def test_a_pilot_with_no_periods_after_the_change_yet_is_planned(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(2026))
    before = frame[pd.to_datetime(frame["month"]) < "2024-11-01"]
    wellbeing = plan_pilot(*_loaded(_folder(tmp_path / "early", card, before)))[0]
    assert math.isfinite(wellbeing.mde)
    text = power_summary([wellbeing])
    assert "10 periods before the change, none after it yet" in text
    assert "one is planned for" in text


def test_a_place_left_out_for_a_gap_is_named_as_it_was_written(tmp_path: Path) -> None:
    card, frame = synthetic_pilot(np.random.default_rng(2026))
    gap = (frame["district"] == "District B") & (frame["month"] == "2024-03-01")
    wellbeing = plan_pilot(*_loaded(_folder(tmp_path / "gap", card, frame[~gap])))[0]
    assert wellbeing.n_comparison == 22
    assert "; as in the estimate, District B was left out of the comparison" in power_summary(
        [wellbeing]
    )


def test_sizes_alone_cannot_plan_a_synthetic_comparison() -> None:
    with pytest.raises(ValueError, match="plan_pilot"):
        minimum_detectable_effect(design="synthetic", n_pilot=10, n_comparison=10, sd=1)


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("places", "said"),
    [(24, "can expect to detect a change in wellbeing score"), (12, "can be shown")],
)
def test_evalkit_plan_prints_the_plan_of_a_synthetic_pilot(
    tmp_path: Path, places: int, said: str
) -> None:
    done = CliRunner().invoke(cli, ["plan", str(_districts(tmp_path, places=places))])
    assert done.exit_code == 0, done.output
    assert said in done.output and "5% significance" in done.output
