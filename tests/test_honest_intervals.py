"""Honest intervals where local pilots live: simulations with known truth, through evalkit.

Each row of issue #13's table is simulated here through the real estimators
(``estimate_effects`` on a card, as a pilot run calls them), so what is
checked is the inference evalkit chooses from the data's structure, not an
engine on its own: few wards with two or three in the pilot, one treated
place among twenty, a yes/no outcome with few events. The slow tests run at
least 1,000 seeded replications each; 95% intervals must cover 93-97% of the
time and reject a true "no change" at most 7% of the time (more than 97% is
accepted where the words say any honest interval is cautious: two wards in
the pilot). The fast tests check the choice of method and its words.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.card import PilotCard, load_pilot
from evalkit.estimate import estimate_effects
from evalkit.estimate.finding import Finding

REPLICATIONS = 1000
TRUE_EFFECT = 3.0


def _card(tmp_path: Path, design: str, data: str, outcome: str = "") -> PilotCard:
    folder = tmp_path / design
    folder.mkdir(exist_ok=True)
    outcome = outcome or "  - {column: score, label: Score, unit: points, better: higher}\n"
    text = (
        f"name: Simulated\nplace: Testford\ndesign: {design}\ndata:\n  path: data.csv\n"
        + data
        + "outcomes:\n"
        + outcome
    )
    (folder / "pilot.yaml").write_text(text, encoding="utf-8")
    (folder / "data.csv").write_text("x\n1\n", encoding="utf-8")
    return load_pilot(folder)


def _ward_people(
    rng: np.random.Generator, wards: int, treated: int, effect: float, *, periods: bool
) -> pd.DataFrame:
    """Return people in wards: ward effects, ward-by-period shocks, the effect in pilot wards."""
    pilot = rng.choice(wards, size=treated, replace=False)
    parts = []
    for ward in range(wards):
        level = rng.normal(0, 2)
        in_pilot = ward in pilot
        for phase in ("before", "after") if periods else ("after",):
            size = int(rng.integers(20, 40))
            shock = rng.normal(0, 1.5)
            on = in_pilot and phase == "after"
            parts.append(
                pd.DataFrame(
                    {
                        "ward": f"W{ward:02d}",
                        "arm": "pilot" if in_pilot else "comparison",
                        "phase": phase,
                        "score": 50 + level + shock + effect * on + rng.normal(0, 6, size),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


DID = """\
  cluster: ward
  group: {column: arm, pilot: pilot, comparison: comparison}
  period: {column: phase, post: after, pre: before}
"""
RCT = """\
  cluster: ward
  group: {column: arm, pilot: pilot, comparison: comparison}
"""


@dataclass(frozen=True)
class Rates:
    coverage: float
    false_positives: float


def _simulate(
    card: PilotCard, make: Callable[[np.random.Generator, float], pd.DataFrame], seed: int
) -> Rates:
    """Return how often the 95% interval covers the truth, and rejects a true zero."""
    rng = np.random.default_rng(seed)
    covered = rejected = 0
    for _ in range(REPLICATIONS):
        with_effect = estimate_effects(card, make(rng, TRUE_EFFECT))[0]
        covered += with_effect.ci_low <= TRUE_EFFECT <= with_effect.ci_high
        without = estimate_effects(card, make(rng, 0.0))[0]
        rejected += not (without.ci_low <= 0.0 <= without.ci_high)
    return Rates(covered / REPLICATIONS, rejected / REPLICATIONS)


SETTINGS = [
    # (name, design, card data, wards, treated, periods, coverage bounds)
    ("did-8-wards-2-in-pilot", "did", DID, 8, 2, True, (0.93, 1.0)),
    ("did-12-wards-2-in-pilot", "did", DID, 12, 2, True, (0.93, 1.0)),
    ("ward-trial-12-wards-2-in-pilot", "rct", RCT, 12, 2, False, (0.93, 1.0)),
    ("did-6-wards-3-in-pilot", "did", DID, 6, 3, True, (0.93, 0.97)),
    ("did-8-wards-4-in-pilot", "did", DID, 8, 4, True, (0.93, 0.97)),
    ("ward-trial-12-wards-6-in-pilot", "rct", RCT, 12, 6, False, (0.93, 0.97)),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "design", "data", "wards", "treated", "periods", "bounds"),
    SETTINGS,
    ids=[s[0] for s in SETTINGS],
)
def test_few_ward_intervals_cover_as_they_say(
    tmp_path: Path,
    name: str,
    design: str,
    data: str,
    wards: int,
    treated: int,
    periods: bool,
    bounds: tuple[float, float],
) -> None:
    card = _card(tmp_path, design, data)

    def make(rng: np.random.Generator, effect: float) -> pd.DataFrame:
        return _ward_people(rng, wards, treated, effect, periods=periods)

    rates = _simulate(card, make, seed=zlib.crc32(name.encode()))
    print(f"{name}: coverage {rates.coverage:.3f}, false positives {rates.false_positives:.3f}")
    assert bounds[0] <= rates.coverage <= bounds[1]
    assert rates.false_positives <= 0.07


def _one_place_panel(rng: np.random.Generator, effect: float) -> pd.DataFrame:
    """Return 20 councils over 10 years, one of them (a random one) in the pilot from year 6."""
    treated = int(rng.integers(20))
    rows = []
    for council in range(20):
        level, shock = rng.normal(0, 5), 0.0
        for year in range(2015, 2025):
            shock = 0.5 * shock + rng.normal(0, 2)
            on = council == treated and year >= 2020
            rows.append(
                {
                    "council": f"C{council:02d}",
                    "arm": "pilot" if council == treated else "other",
                    "year": year,
                    "score": 60 + level + 0.5 * (year - 2015) + shock + effect * on,
                }
            )
    return pd.DataFrame(rows)


PANEL = """\
  unit: council
  group: {column: arm, pilot: pilot, comparison: other}
  time: {column: year, start: 2020}
"""


@pytest.mark.slow
def test_one_treated_place_among_twenty_is_judged_against_the_other_places(
    tmp_path: Path,
) -> None:
    card = _card(tmp_path, "did", PANEL)
    rates = _simulate(card, _one_place_panel, seed=2020)
    print(f"one of 20: coverage {rates.coverage:.3f}, false positives {rates.false_positives:.3f}")
    assert 0.93 <= rates.coverage <= 0.97
    assert rates.false_positives <= 0.07


def _few_events(rng: np.random.Generator, effect: float) -> pd.DataFrame:
    """Return 50 people an arm, about 10% with the outcome (about 5 events in an arm)."""
    arm = np.repeat(["pilot", "comparison"], 50)
    risk = np.where(arm == "pilot", 0.10 + effect / 100, 0.10)
    return pd.DataFrame({"arm": arm, "readmitted": (rng.random(100) < risk).astype(int)})


@pytest.mark.slow
def test_few_events_get_a_score_interval_that_covers(tmp_path: Path) -> None:
    outcome = "  - {column: readmitted, type: binary, better: lower}\n"
    card = _card(tmp_path, "rct", "  group: {column: arm, pilot: pilot}\n", outcome)
    rng = np.random.default_rng(5)
    covered = rejected = 0
    truth = 8.0  # percentage points: 18% against 10%
    for _ in range(REPLICATIONS):
        found = estimate_effects(card, _few_events(rng, truth))[0]
        covered += found.ci_low <= truth <= found.ci_high
        null = estimate_effects(card, _few_events(rng, 0.0))[0]
        rejected += not (null.ci_low <= 0.0 <= null.ci_high)
    coverage, false_positives = covered / REPLICATIONS, rejected / REPLICATIONS
    print(f"few events: coverage {coverage:.3f}, false positives {false_positives:.3f}")
    assert 0.93 <= coverage <= 0.985  # a score interval is a little cautious with 5 events
    assert false_positives <= 0.07


# --- the choice of method and its words (fast) ----------------------------------------------------


def _one(card: PilotCard, frame: pd.DataFrame) -> Finding:
    return estimate_effects(card, frame)[0]


def test_two_wards_in_the_pilot_are_judged_by_randomisation_over_wards(tmp_path: Path) -> None:
    card = _card(tmp_path, "did", DID)
    finding = _one(card, _ward_people(np.random.default_rng(1), 12, 2, 0.0, periods=True))
    assert finding.inference.method == "randomisation inference (placebo-in-space)"
    assert finding.inference.assignments == 66  # 12 choose 2
    assert finding.p_value >= 1 / 66
    assert "only 12 wards, 2 in the pilot" in finding.inference.note
    assert "randomisation inference over ward" in finding.method


def test_a_six_ward_pilot_with_a_chance_result_says_how_few_wards_it_rests_on(
    tmp_path: Path,
) -> None:
    """Issue #13: with 6 wards and no true effect, a chance 'significant' draw is explained."""
    card = _card(tmp_path, "did", DID)
    rng = np.random.default_rng(0)
    usual_significant = 0
    for _ in range(200):
        finding = _one(card, _ward_people(rng, 6, 3, 0.0, periods=True))
        if finding.inference.cluster_robust.p_value < 0.05:
            usual_significant += 1
            assert "only 6 wards, 3 in the pilot" in finding.inference.note
            assert "wild cluster bootstrap" in finding.method
            assert finding.inference.enumerated  # all 2^6 sign patterns
    assert usual_significant > 10  # the usual errors would have called these "fairly sure"


def test_too_few_wards_give_no_interval_and_say_what_can_be_concluded(tmp_path: Path) -> None:
    card = _card(tmp_path, "did", DID)
    finding = _one(card, _ward_people(np.random.default_rng(2), 5, 1, TRUE_EFFECT, periods=True))
    assert not finding.bounded  # five ways to choose one ward: p can be no smaller than 1/5
    assert finding.p_value >= 0.2
    assert "cannot show a change with 95% confidence" in finding.inference.note
    assert "too few places" in finding.summary


def test_many_wards_keep_the_usual_cluster_robust_interval(tmp_path: Path) -> None:
    card = _card(tmp_path, "did", DID)
    finding = _one(card, _ward_people(np.random.default_rng(3), 40, 20, 0.0, periods=True))
    assert finding.inference is None
    assert "cluster-robust by ward" in finding.method
