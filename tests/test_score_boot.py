"""The wild score bootstrap for odds and rate ratios with few clusters (Kline and Santos 2012)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evalkit.card import load_pilot
from evalkit.estimate import estimate_effects
from evalkit.estimate._score_boot import score_bootstrap


def _wards(rng: np.random.Generator, wards: int, treated: int, ratio: float) -> pd.DataFrame:
    pilot = rng.choice(wards, size=treated, replace=False)
    parts = []
    for ward in range(wards):
        size = int(rng.integers(20, 40))
        mean = math.exp(0.5 + rng.normal(0, 0.3)) * (ratio if ward in pilot else 1.0)
        parts.append(
            pd.DataFrame(
                {
                    "ward": f"W{ward:02d}",
                    "arm": "pilot" if ward in pilot else "comparison",
                    "visits": rng.poisson(mean, size),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_the_p_value_matches_a_by_hand_sign_flip_test_of_the_cluster_scores() -> None:
    """Independent check: with only a constant and the pilot column, under "no change" the
    restricted Poisson mean is the overall mean, so each ward's score is
    sum (D - mean D)(y - mean y); flipping the signs of those six numbers every way gives the
    p-value directly."""
    frame = _wards(np.random.default_rng(4), 6, 3, 0.7)
    y = frame["visits"].to_numpy(dtype="float64")
    d = (frame["arm"] == "pilot").to_numpy(dtype="float64")
    ward = frame["ward"].to_numpy()
    X = np.column_stack([np.ones_like(d), d])
    fit = sm.GLM(y, X, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(ward)[0]}
    )
    test = score_bootstrap(
        y, X, 1, ward, "poisson", estimate=float(fit.params[1]), se=float(fit.bse[1])
    )
    scores = pd.Series((d - d.mean()) * (y - y.mean())).groupby(ward).sum().to_numpy()
    observed = abs(scores.sum()) / math.sqrt(float(scores @ scores))
    flips = np.array(list(itertools.product((1.0, -1.0), repeat=6)))
    boot = np.abs(flips @ scores) / math.sqrt(float(scores @ scores))
    assert test.enumerated and test.draws == 64
    assert test.p_value == pytest.approx(float(np.mean(boot >= observed * (1 - 1e-9))))
    # the interval holds the estimate and is the set of nulls not rejected
    assert test.log_low < fit.params[1] < test.log_high


def test_too_few_wards_leave_the_ratio_without_an_end() -> None:
    """Four wards: 16 sign patterns, so no p-value can reach 5% and no bound exists."""
    frame = _wards(np.random.default_rng(5), 4, 2, 0.5)
    y = frame["visits"].to_numpy(dtype="float64")
    d = (frame["arm"] == "pilot").to_numpy(dtype="float64")
    X = np.column_stack([np.ones_like(d), d])
    test = score_bootstrap(y, X, 1, frame["ward"].to_numpy(), "poisson", estimate=-0.7, se=0.1)
    assert test.unbounded and test.p_value >= 2 / 16


@pytest.mark.slow
def test_rate_ratio_intervals_with_eight_wards_cover_as_they_say(tmp_path: Path) -> None:
    """500 seeded ward-randomised trials, 8 wards, 4 in the pilot, through the estimator."""
    folder = tmp_path / "trial"
    folder.mkdir()
    (folder / "pilot.yaml").write_text(
        "name: Simulated\nplace: Testford\ndesign: rct\ndata:\n  path: data.csv\n"
        "  cluster: ward\n  group: {column: arm, pilot: pilot, comparison: comparison}\n"
        "outcomes:\n  - {column: visits, type: count, better: lower}\n",
        encoding="utf-8",
    )
    (folder / "data.csv").write_text("x\n1\n", encoding="utf-8")
    card = load_pilot(folder)
    rng = np.random.default_rng(88)
    covered = rejected = 0
    runs = 500
    for _ in range(runs):
        found = estimate_effects(card, _wards(rng, 8, 4, 0.7))[0]
        covered += found.ci_low <= 0.7 <= found.ci_high
        null = estimate_effects(card, _wards(rng, 8, 4, 1.0))[0]
        rejected += not (null.ci_low <= 1.0 <= null.ci_high)
    print(
        f"rate ratio, 8 wards: coverage {covered / runs:.3f}, false positives {rejected / runs:.3f}"
    )
    assert 0.93 <= covered / runs <= 0.97
    assert rejected / runs <= 0.07
