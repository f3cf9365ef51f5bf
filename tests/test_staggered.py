"""Staggered starts: Callaway and Sant'Anna group-time effects against not-yet-treated units.

Checked against the ``did`` package's printed output on its ``mpdta`` data,
against an independent calculation from cell means, and by simulation: with
staggered starts and effects that grow and differ by start group, two-way
fixed effects is biased while this estimator is not, and its 95% intervals
cover the truth about 95% of the time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.card import PilotCard, load_pilot
from evalkit.contract import validate_data
from evalkit.errors import EstimationError
from evalkit.estimate import staggered
from evalkit.estimate._twfe import fit_twfe
from evalkit.estimate.panel import estimate_panel_did, event_study, read_panel

from .conftest import DATA, PilotFactory

SEED = 20261126

MPDTA_CARD = """\
name: Minimum wage and teen employment (Callaway and Sant'Anna 2021, mpdta)
place: 500 US counties
design: did
data:
  path: {data_path}
  unit: countyreal
  group: {{column: treat, pilot: 1}}
  time: {{column: year, start_column: first_treat}}
outcomes:
  - column: lemp
    label: Log teen employment
    better: higher
"""


@pytest.fixture
def mpdta(make_pilot: PilotFactory) -> tuple[PilotCard, pd.DataFrame]:
    """Return the mpdta pilot, read and checked as a pilot run does (never-treated: blank start).

    tests/data/mpdta.csv is ``did::mpdta`` (R package did, Callaway and
    Sant'Anna): 500 counties, 2003-2007, log teen employment; first.treat is
    2004, 2006, 2007 or 0 for never.
    """
    raw = pd.read_csv(DATA / "mpdta.csv")
    first = raw["first.treat"].where(raw["first.treat"] > 0)
    data = raw.drop(columns="first.treat").assign(first_treat=first)
    pilot = make_pilot(MPDTA_CARD, data=data.to_csv(index=False), data_name="data/mpdta.csv")
    card = load_pilot(pilot)
    return card, validate_data(card).valid


def test_reproduces_did_package_printed_output(mpdta: tuple[PilotCard, pd.DataFrame]) -> None:
    """The ``did`` package's never-treated, unconditional results on mpdta, as printed.

    README of github.com/bcallaway11/did (v2.5.0), "A short example",
    ``att_gt(yname = "lemp", ..., xformla = ~1, est_method = "reg")``: the 12
    ATT(g,t) to 4 decimals, "P-value for pre-test of parallel trends
    assumption: 0.16812", and ``aggte(type = "group")``: overall -0.031
    (SE 0.0123), groups 2004 -0.0797, 2006 -0.0229, 2007 -0.0261. Vignette
    "Getting Started with the did Package" (``aggte(type = "dynamic")``):
    overall -0.0772, event times -3..3 as below. These use the ``did``
    defaults: never-treated comparisons and the varying base period.

    Printed standard errors are from a random multiplier bootstrap (they
    differ between the README and the vignette); the analytical ones here are
    within 12% of them.
    """
    card, frame = mpdta
    rows = read_panel(card, frame, card.outcomes[0])
    assert rows.unit is not None
    wide, starts, _, dropped = staggered.balanced_panel(
        rows.y, rows.unit, rows.period, rows.start, len(rows.labels)
    )
    assert wide.shape == (500, 5) and dropped == 0
    effects = staggered.group_time_effects(
        wide, starts, labels=rows.labels, control="never", base="varying"
    )
    years = (
        [int(rows.labels[g]) for g in effects.cohort],
        [int(rows.labels[t]) for t in effects.period],
    )
    printed = {  # (group, time): (ATT, bootstrap SE in the README)
        (2004, 2004): (-0.0105, 0.0241), (2004, 2005): (-0.0704, 0.0313),
        (2004, 2006): (-0.1373, 0.0380), (2004, 2007): (-0.1008, 0.0337),
        (2006, 2004): (0.0065, 0.0223), (2006, 2005): (-0.0028, 0.0196),
        (2006, 2006): (-0.0046, 0.0188), (2006, 2007): (-0.0412, 0.0202),
        (2007, 2004): (0.0305, 0.0154), (2007, 2005): (-0.0027, 0.0168),
        (2007, 2006): (-0.0311, 0.0190), (2007, 2007): (-0.0261, 0.0182),
    }  # fmt: skip
    assert set(zip(*years, strict=True)) == set(printed)
    for j, key in enumerate(zip(*years, strict=True)):
        att, boot_se = printed[key]
        assert round(effects.att[j], 4) == att
        assert staggered.standard_error(effects.influence[:, j]) == pytest.approx(boot_se, rel=0.12)

    pre = effects.period < effects.cohort
    _, df, p = staggered.wald_test(effects.att[pre], effects.influence[:, pre])
    assert df == 5 and round(p, 5) == 0.16812

    overall = staggered.aggregate_by_cohort(effects)
    assert round(overall.estimate, 3) == -0.031
    assert overall.se == pytest.approx(0.0123, rel=0.12)
    for year, printed_g in ((2004, -0.0797), (2006, -0.0229), (2007, -0.0261)):
        g = rows.labels.index(str(year))
        cells = np.flatnonzero((effects.cohort == g) & (effects.period >= g))
        assert round(staggered.aggregate(effects, cells).estimate, 4) == printed_g

    dynamic = staggered.aggregate_by_event_time(effects)
    by_event = {
        -3: 0.0305,
        -2: -0.0006,
        -1: -0.0245,
        0: -0.0199,
        1: -0.0510,
        2: -0.1373,
        3: -0.1008,
    }
    assert {e: round(a.estimate, 4) for e, a in dynamic.items()} == by_event
    assert round(np.mean([dynamic[e].estimate for e in range(4)]), 4) == -0.0772


def test_not_yet_treated_matches_cell_means(mpdta: tuple[PilotCard, pd.DataFrame]) -> None:
    """The finding (not-yet-treated, group-weighted) equals a direct pandas calculation.

    Each ATT(g,t) is recomputed from county changes since g-1, the comparison
    being counties never treated or first treated after year t.
    """
    card, frame = mpdta
    finding = estimate_panel_did(card, frame, card.outcomes[0])

    raw = pd.read_csv(DATA / "mpdta.csv")
    wide = raw.pivot(index="countyreal", columns="year", values="lemp")
    first = raw.groupby("countyreal")["first.treat"].first().reindex(wide.index)
    later = first.where(first > 0, np.inf)
    by_group = {}
    for g in (2004, 2006, 2007):
        effects = []
        for t in range(g, 2008):
            change = wide[t] - wide[g - 1]
            comparison = (later > t) & (later != g)
            effects.append(change[first == g].mean() - change[comparison].mean())
        by_group[g] = np.mean(effects)
    size = first[first > 0].value_counts()
    expected = sum(by_group[g] * size[g] for g in by_group) / size.sum()

    assert finding.estimate == pytest.approx(expected, abs=1e-12)
    assert round(finding.estimate, 4) == -0.0305
    assert finding.ci_low < finding.estimate < finding.ci_high
    assert finding.n == 2500
    assert "not yet in the pilot" in finding.method and "Callaway and Sant'Anna" in finding.method
    checks = finding.checks  # type: ignore[attr-defined]
    assert checks["staggered"] is True and checks["pre_periods"] == 4
    assert 0 < checks["pretrend_p"] < 1
    rows = finding.event_study  # type: ignore[attr-defined]
    assert [r["relative_period"] for r in rows] == list(range(-4, 4))
    assert rows[3] == {"relative_period": -1, "estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0}


def test_universal_base_pre_periods_are_long_differences(
    mpdta: tuple[PilotCard, pd.DataFrame],
) -> None:
    """Before the start, effects compare each year with the year before the start (g - 1)."""
    card, frame = mpdta
    study = event_study(card, frame, card.outcomes[0])
    raw = pd.read_csv(DATA / "mpdta.csv")
    wide = raw.pivot(index="countyreal", columns="year", values="lemp")
    first = raw.groupby("countyreal")["first.treat"].first().reindex(wide.index)
    # event time -4 exists only for the 2007 group: 2003 against 2006, not yet treated by 2006
    change = wide[2003] - wide[2006]
    comparison = (first == 0) | (first > 2006)
    expected = change[first == 2007].mean() - change[comparison & (first != 2007)].mean()
    assert study.points[0].relative_period == -4
    assert study.points[0].estimate == pytest.approx(expected, abs=1e-12)
    assert study.staggered and study.pretrend_test.startswith("chi-squared(")


# --- refusals -----------------------------------------------------------------------------------


def staggered_card(folder: Path, **data: object) -> PilotCard:
    roles = {
        "path": "data/panel.csv",
        "unit": "unit",
        "group": {"column": "arm", "pilot": "pilot"},
        "time": {"column": "period", "start_column": "first"},
    }
    roles.update(data)
    return PilotCard.model_validate(
        {
            "name": "Staggered pilot",
            "place": "Stagford",
            "design": "did",
            "data": {k: v for k, v in roles.items() if v is not None},
            "outcomes": [{"column": "y", "better": "higher"}],
            "folder": folder,
        }
    )


def staggered_rows(
    rng: np.random.Generator,
    *,
    units: int = 300,
    periods: int = 8,
    shares: tuple[float, ...] = (0.3, 0.3, 0.2, 0.2),
) -> pd.DataFrame:
    """Return a balanced panel: groups start in periods 2, 4, 6 or never (by ``shares``).

    The effect grows with time since the start and differs by group:
    ``DELTA[g] * (1 + t - g)``; outcomes have unit and period effects.
    """
    start = np.array([2.0, 4.0, 6.0, np.inf])[rng.choice(4, size=units, p=shares)]
    unit = np.repeat(np.arange(units), periods)
    period = np.tile(np.arange(periods), units)
    g = start[unit]
    since = np.where(np.isfinite(g), period - np.where(np.isfinite(g), g, 0), -1)
    gain = np.select([g == 2, g == 4, g == 6], [DELTA[2], DELTA[4], DELTA[6]], 0.0)
    y = (
        rng.normal(0, 2, units)[unit]
        + 0.5 * period
        + rng.normal(0, 1, periods)[period]
        + np.where(since >= 0, gain * (1 + since), 0.0)
        + rng.normal(0, 1, unit.size)
    )
    return pd.DataFrame(
        {
            "unit": pd.Categorical(np.char.add("U", unit.astype(str))),
            "arm": pd.Categorical(np.where(np.isfinite(g), "pilot", "comparison")),
            "period": period.astype("float64"),
            "first": np.where(np.isfinite(g), g, np.nan),
            "y": y,
        }
    )


DELTA = {2: 2.0, 4: 1.0, 6: 0.5}
SHARES = (0.3, 0.3, 0.2, 0.2)
PERIODS = 8
#: the overall effect: each group's mean effect since its start, weighted by P(group)
TRUTH = sum(
    share * DELTA[g] * (1 + (PERIODS - 1 - g) / 2)
    for share, g in zip(SHARES[:3], (2, 4, 6), strict=True)
) / sum(SHARES[:3])


def test_refuses_when_last_group_has_no_comparison(tmp_path: Path) -> None:
    """Everyone starts by period 6 and no one stays out: period 6 on has nothing to compare."""
    frame = staggered_rows(np.random.default_rng(SEED), shares=(0.4, 0.3, 0.3, 0.0))
    card = staggered_card(tmp_path)
    with pytest.raises(EstimationError, match="nothing to be compared with in 6") as caught:
        estimate_panel_did(card, frame, card.outcomes[0])
    assert "units that never join the pilot" in caught.value.hint


def test_refuses_staggered_starts_without_unit(tmp_path: Path) -> None:
    frame = staggered_rows(np.random.default_rng(SEED))
    card = staggered_card(tmp_path, unit=None)
    with pytest.raises(EstimationError, match="names no unit"):
        estimate_panel_did(card, frame, card.outcomes[0])


def test_refuses_a_unit_with_two_starts(tmp_path: Path) -> None:
    frame = staggered_rows(np.random.default_rng(SEED))
    first_pilot = frame.index[frame["first"].notna()][0]
    frame.loc[first_pilot, "first"] += 1
    with pytest.raises(EstimationError, match="start is not the same"):
        estimate_panel_did(staggered_card(tmp_path), frame, staggered_card(tmp_path).outcomes[0])


def test_leaves_out_incomplete_and_always_treated_units(tmp_path: Path) -> None:
    frame = staggered_rows(np.random.default_rng(SEED))
    frame = frame.drop(index=[3, 4])  # unit U0 misses two periods
    frame.loc[frame["unit"] == "U1", "first"] = 0.0  # in the pilot from the first period
    card = staggered_card(tmp_path, covariates=None)
    finding = estimate_panel_did(card, frame, card.outcomes[0])
    # one unit is a count below min_cell_count: the note says so without the number
    assert any("fewer than 10 unit(s) without a record in every period" in n for n in finding.notes)
    assert any("already in the pilot in the first period" in n for n in finding.notes)
    assert finding.n == 298 * PERIODS


def test_clustered_errors_sum_influence_within_clusters(tmp_path: Path) -> None:
    """With data.cluster, influence functions are summed within clusters before squaring."""
    frame = staggered_rows(np.random.default_rng(SEED))
    frame["area"] = pd.Categorical(
        np.char.add("A", (frame["unit"].cat.codes.to_numpy() % 25).astype(str))
    )
    plain = estimate_panel_did(
        staggered_card(tmp_path), frame, staggered_card(tmp_path).outcomes[0]
    )
    card = staggered_card(tmp_path, cluster="area")
    clustered = estimate_panel_did(card, frame, card.outcomes[0])
    assert clustered.estimate == pytest.approx(plain.estimate, abs=1e-12)
    assert clustered.se != pytest.approx(plain.se, rel=1e-3)
    assert "clustered by area" in clustered.method


# --- simulations: two-way fixed effects is biased here, group-time effects are not --------------


def run_staggered_simulation(reps: int, tmp_path: Path) -> dict[str, float]:
    """Return the mean and Monte-Carlo SE of both estimators, and the CS 95% CI coverage."""
    rng = np.random.default_rng(SEED)
    card = staggered_card(tmp_path)
    ours, twfe, covered = [], [], 0
    for _ in range(reps):
        frame = staggered_rows(rng)
        finding = estimate_panel_did(card, frame, card.outcomes[0])
        ours.append(finding.estimate)
        covered += finding.ci_low <= TRUTH <= finding.ci_high
        unit = pd.factorize(frame["unit"])[0]
        after = (frame["period"] >= frame["first"]).to_numpy(dtype="float64")
        fit = fit_twfe(
            frame["y"].to_numpy(),
            after[:, None],
            (unit, frame["period"].to_numpy().astype(int)),
            clusters=unit,
        )
        twfe.append(fit.params[0])
    a, b = np.array(ours), np.array(twfe)
    root = np.sqrt(reps)
    return {
        "cs": float(a.mean()),
        "cs_mc_se": float(a.std(ddof=1) / root),
        "twfe": float(b.mean()),
        "twfe_mc_se": float(b.std(ddof=1) / root),
        "coverage": covered / reps,
    }


def test_staggered_estimator_is_unbiased_where_twfe_is_not(tmp_path: Path) -> None:
    """R=150: CS within 3 MC SE of the truth (3.75); TWFE far off; coverage 89%-99.5%.

    At R=150 the Monte-Carlo SE of a 95% coverage rate is 1.8 points.
    """
    result = run_staggered_simulation(150, tmp_path)
    assert abs(result["cs"] - TRUTH) < 3 * result["cs_mc_se"]
    assert abs(result["twfe"] - TRUTH) > 20 * result["twfe_mc_se"]
    assert 0.89 <= result["coverage"] <= 0.995


@pytest.mark.slow
def test_staggered_estimator_is_unbiased_where_twfe_is_not_long(tmp_path: Path) -> None:
    """R=1000: coverage 93%-97% (about 3 Monte-Carlo SE either side of 95%)."""
    result = run_staggered_simulation(1000, tmp_path)
    assert abs(result["cs"] - TRUTH) < 3 * result["cs_mc_se"]
    assert abs(result["twfe"] - TRUTH) > 20 * result["twfe_mc_se"]
    assert 0.93 <= result["coverage"] <= 0.97
