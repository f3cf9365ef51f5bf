"""Staggered starts: Callaway and Sant'Anna group-time effects against not-yet-treated units.

Checked against the ``did`` package's printed output on its ``mpdta`` data,
against an independent calculation from cell means, and by simulation: with
staggered starts and effects that grow and differ by start group, two-way
fixed effects is biased while this estimator is not, and its 95% intervals
cover the truth about 95% of the time.

Intervals with few wards (issue: "staggered adoption with small cohorts").
The jackknife (each unit or cluster left out in turn) is checked against a
brute-force re-estimation by cell means on the data left, and by slow
simulations of local pilots (see ``ward_panel``): (a) 8 wards, 4 starting one
at a time and 4 never, and (b) 20 wards, start groups of 3, 3, 2 and 2 and 10
never; 8 periods. Candidates measured on those designs (500 draws each, with
no effect and with effects differing by group; 95% coverage of the overall
effect, Monte-Carlo SE about 1 point):

=====================================================  ==========  ==========
interval                                               (a)         (b)
=====================================================  ==========  ==========
influence function, normal (the did package's)         87 / 90     93 / 94
influence function, G/(G-1), t(G-1)                    94 / 95     95 / 95
multiplier bootstrap-t of the influence function,      85 / 89     93 / 93
  Webb weights
restricted wild bootstrap-t (constant-effect model,    94 / 95     95 / 96
  Webb weights)
randomisation inference over start dates               95 / 96     95 / 95
jackknife, t(G-1) (chosen; R=3000)                     96 / 97.5   96 / 97
=====================================================  ==========  ==========

Stress designs told them apart: with 4 wards starting one at a time among 20
(few in the pilot), G/(G-1) with t(G-1) covered 89%, the wild bootstrap 94%
(97% with effects), randomisation 95%; with the pilot wards noisier than the
comparisons, randomisation inference (which assumes wards interchangeable)
fell to 92-93% and t(G-1) to 91%; with serial correlation 0.8 the wild
bootstrap fell to 93%. The jackknife held 93-97% in every one (measured
there centred on the mean of the leave-outs, which in (a) and (b) covered
exactly as often as centring on the estimate, as here).
The multiplier bootstrap cannot help: a start group of one ward has no spread
within it, so its ward's noise is in no influence function to resample. With
effects very different between groups (-0.5 to 2 noise SDs) every method
covered over 99%: with one ward per group, a group's effect cannot be told
apart from its ward's noise, so the differences count as uncertainty; only
assuming pilot wards as noisy as comparison wards would avoid that.

The pre-start test, with parallel paths throughout: a joint Wald test of
every pre-start effect (the did package's test), on the jackknife
covariance with F(q, G - 1), found trends that were not there in 22% (a) and
21% (b) of draws; 14-15% with Hotelling's small-sample F; 8% and 12% as
Bonferroni over the single t tests. The t test on the mean pre-start effect
used here: about 5-7%. Single effects by period resting on a group of two
wards still came out "significant" in 8% of draws in (b): they are rough,
as the small-group note says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.card import PilotCard, load_pilot
from evalkit.contract import validate_data
from evalkit.errors import EstimationError
from evalkit.estimate import staggered
from evalkit.estimate._twfe import fit_twfe
from evalkit.estimate.panel import estimate_panel_did, event_study, read_panel
from evalkit.quality.published import find_counts_in_text

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
    # with 500 counties the jackknife and the influence function agree (both estimate the
    # same variance; here with the not-yet-treated comparisons a pilot run uses)
    units, periods = np.divmod(np.arange(wide.size), wide.shape[1])
    full = staggered.estimate_staggered(wide.ravel(), units, periods, starts[units], rows.labels)
    influence_se = staggered.standard_error(full.overall.influence)
    assert full.overall.jackknife and full.overall.se == pytest.approx(influence_se, rel=0.02)
    assert full.overall.df == 499 and full.pre_trend is not None
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
    checks = finding.checks
    assert checks.staggered is True and checks.pre_periods == 4
    assert 0 < checks.pretrend_p < 1
    rows = finding.event_study
    assert rows is not None
    assert [r.relative_period for r in rows] == list(range(-4, 4))
    assert rows[3].model_dump() == {
        "relative_period": -1,
        "estimate": 0.0,
        "ci_low": 0.0,
        "ci_high": 0.0,
    }


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
    # the pre-trend test: a t test on the mean pre-start effect, jackknife over 500 counties
    assert study.staggered and study.pretrend_test.startswith("t(499) = ")


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


# --- intervals with few wards: the jackknife ----------------------------------------------------


def ward_panel(
    rng: np.random.Generator, starts: np.ndarray, gains: tuple[float, ...], periods: int = 8
) -> tuple[np.ndarray, float, float]:
    """Return outcomes (wards x periods), the true overall effect and the true effect at the start.

    A local pilot's wards: ward effects (SD 2), period effects (a trend plus
    noise), and each ward's own noise, AR(1) with correlation 0.5 and a scale
    drawn for each ward between 0.5 and 1.5 (wards differ in size). A start
    group's effect is its ``gains`` entry (in order of start), growing by a
    quarter each period after the start. The truths are the overall effect
    (each group's mean effect since its start, weighted by group size) and the
    size-weighted effect in the first period.
    """
    wards = starts.size
    shock = rng.normal(size=(wards, periods))
    noise = np.empty_like(shock)
    noise[:, 0] = shock[:, 0]
    for t in range(1, periods):
        noise[:, t] = 0.5 * noise[:, t - 1] + np.sqrt(1 - 0.5**2) * shock[:, t]
    noise *= rng.uniform(0.5, 1.5, wards)[:, None]
    groups = np.unique(starts[np.isfinite(starts)]).astype(int)
    effect = np.zeros((wards, periods))
    for gain, g in zip(gains * len(groups), groups, strict=False):
        since = np.arange(periods) - g
        effect[starts == g] = np.where(since >= 0, gain * (1 + 0.25 * since), 0.0)
    trend = 0.3 * np.arange(periods) + rng.normal(0, 0.5, periods)
    y = rng.normal(0, 2, wards)[:, None] + trend + effect + noise
    sizes = np.array([np.sum(starts == g) for g in groups]) / np.isfinite(starts).sum()
    overall = sum(w * effect[starts == g][0, g:].mean() for w, g in zip(sizes, groups, strict=True))
    first = sum(w * effect[starts == g][0, g] for w, g in zip(sizes, groups, strict=True))
    return y, float(overall), float(first)


def estimate_wards(y: np.ndarray, starts: np.ndarray, **options: int) -> staggered.Staggered:
    periods = y.shape[1]
    unit, period = np.divmod(np.arange(y.size), periods)
    labels = [f"Q{t + 1}" for t in range(periods)]
    return staggered.estimate_staggered(y.ravel(), unit, period, starts[unit], labels, **options)


#: (a) 8 wards, 4 starting one at a time, 4 never; (b) 20 wards in groups of 3, 3, 2, 2 and 10 never
ONE_AT_A_TIME = np.array([2, 3, 4, 5] + [np.inf] * 4)
SMALL_GROUPS = np.array([2, 2, 2, 3, 3, 3, 4, 4, 5, 5] + [np.inf] * 10)
GAINS = (1.0, 0.5, 1.5, 0.75)


def overall_by_cell_means(y: np.ndarray, starts: np.ndarray) -> float:
    """Return the overall effect recomputed from cell means, independently of evalkit."""
    frame = pd.DataFrame(y)
    sizes, means = {}, {}
    for g in np.unique(starts[np.isfinite(starts)]).astype(int):
        effects = []
        for t in range(g, y.shape[1]):
            change = frame[t] - frame[g - 1]
            later = pd.Series(starts > t)
            effects.append(change[starts == g].mean() - change[later & (starts != g)].mean())
        sizes[g], means[g] = np.sum(starts == g), np.mean(effects)
    return sum(sizes[g] * means[g] for g in sizes) / sum(sizes.values())


@pytest.mark.parametrize("clustered", [False, True])
def test_jackknife_matches_leaving_each_out_by_brute_force(clustered: bool) -> None:
    """The standard error is CV3 over units (or clusters), each left out and re-estimated.

    Re-estimated here from cell means on the data left (independently of the
    library), then (G-1)/G times the sum of squared differences from the
    full estimate, and the interval t-based on G - 1 degrees of freedom.
    """
    rng = np.random.default_rng(SEED)
    starts = rng.permutation(SMALL_GROUPS)
    y, _, _ = ward_panel(rng, starts, GAINS)
    clusters = np.arange(starts.size) // 2 if clustered else np.arange(starts.size)
    options = {"clusters": np.repeat(clusters, y.shape[1])} if clustered else {}
    result = estimate_wards(y, starts, **options)  # type: ignore[arg-type]

    full = overall_by_cell_means(y, starts)
    left = [overall_by_cell_means(y[clusters != c], starts[clusters != c]) for c in set(clusters)]
    groups = len(left)
    se = np.sqrt((groups - 1) / groups * np.sum((np.array(left) - full) ** 2))
    overall = result.overall
    assert overall.estimate == pytest.approx(full, abs=1e-12)
    assert overall.se == pytest.approx(se, rel=1e-10) and overall.jackknife
    half = stats.t.ppf(0.975, groups - 1) * se
    assert (overall.ci_low, overall.ci_high) == pytest.approx((full - half, full + half))
    assert overall.p_value == pytest.approx(2 * stats.t.sf(abs(full / se), groups - 1))
    assert overall.df == groups - 1 == result.clusters - 1
    # wider than the influence function's with normal critical values
    usual = staggered.standard_error(overall.influence, clusters if clustered else None)
    assert half > 1.96 * usual


def test_small_groups_are_noted_without_small_counts() -> None:
    """Groups (and the never-started) under five units are named, counts as disclosure allows."""
    rng = np.random.default_rng(SEED)
    y, _, _ = ward_panel(rng, ONE_AT_A_TIME, GAINS)
    result = estimate_wards(y, ONE_AT_A_TIME, min_count=10)
    note = next(n for n in result.notes if n.startswith("Small groups of units"))
    for quarter in ("Q3", "Q4", "Q5", "Q6"):
        assert f"those starting in {quarter} (fewer than 10)" in note
    assert "those never in the pilot (fewer than 10)" in note
    assert not find_counts_in_text(" ".join(result.notes), 10)
    # where disclosure allows, the number is given; groups of five or more are not named
    starts = np.array([2] * 4 + [4] * 6 + [np.inf] * 6)
    y, _, _ = ward_panel(rng, starts, GAINS)
    note = estimate_wards(y, starts, min_count=3).notes[0]
    assert "those starting in Q3 (4)" in note
    assert "Q5" not in note and "never" not in note
    larger = np.array([2] * 5 + [4] * 5 + [np.inf] * 5)
    y, _, _ = ward_panel(rng, larger, GAINS)
    assert not estimate_wards(y, larger).notes


def test_effects_resting_on_one_ward_get_no_interval() -> None:
    """Five periods after the start only the first ward has data: leaving it out leaves nothing."""
    rng = np.random.default_rng(SEED)
    y, _, _ = ward_panel(rng, ONE_AT_A_TIME, GAINS)
    result = estimate_wards(y, ONE_AT_A_TIME)
    alone = [e for e, a in result.dynamic.items() if not a.jackknife]
    assert alone == [-5, 5]
    assert all(np.isnan(result.dynamic[e].ci_low) for e in alone)
    assert all(np.isfinite(a.ci_low) for e, a in result.dynamic.items() if e not in alone)
    assert any(
        "effects at -5, +5 periods from the start rest on a single unit" in n for n in result.notes
    )
    assert result.pre_trend is not None and result.pre_trend.periods == 3  # -4, -3, -2
    assert result.overall.jackknife and np.isfinite(result.overall.ci_low)


def test_overall_falls_back_when_one_cluster_holds_every_comparison() -> None:
    """All never-started wards in one cluster: without it the last group has no comparison."""
    starts = np.array([2, 3, 4, 5, 2, 3] + [np.inf] * 4)
    y, _, _ = ward_panel(np.random.default_rng(SEED), starts, GAINS)
    clusters = np.array([0, 1, 2, 3, 4, 5, 6, 6, 6, 6])
    result = estimate_wards(y, starts, clusters=np.repeat(clusters, 8))  # type: ignore[arg-type]
    assert not result.overall.jackknife and result.overall.df == 6
    factor = np.sqrt(7 / 6)
    usual = staggered.standard_error(result.overall.influence, clusters)
    assert result.overall.se == pytest.approx(usual * factor)
    assert any(n.startswith("For the overall effect") and "too narrow" in n for n in result.notes)


def test_refuses_a_single_cluster() -> None:
    y, _, _ = ward_panel(np.random.default_rng(SEED), ONE_AT_A_TIME, GAINS)
    with pytest.raises(EstimationError, match="every unit is in one cluster"):
        estimate_wards(y, ONE_AT_A_TIME, clusters=np.zeros(y.size, int))  # type: ignore[arg-type]


def run_ward_simulation(
    starts: np.ndarray, gains: tuple[float, ...], reps: int
) -> dict[str, float]:
    """Return coverage and rejection rates over ``reps`` simulated pilots (wards at random)."""
    rng = np.random.default_rng(SEED)
    counts = dict.fromkeys(("covered", "normal", "rejected", "pretrend", "first"), 0)
    for _ in range(reps):
        drawn = rng.permutation(starts)
        y, truth, first = ward_panel(rng, drawn, gains)
        result = estimate_wards(y, drawn)
        overall, start = result.overall, result.dynamic[0]
        usual = staggered.standard_error(overall.influence)
        counts["covered"] += overall.ci_low <= truth <= overall.ci_high
        counts["normal"] += abs(overall.estimate - truth) <= 1.96 * usual
        counts["rejected"] += overall.p_value < 0.05
        counts["first"] += start.ci_low <= first <= start.ci_high
        assert result.pre_trend is not None
        counts["pretrend"] += result.pre_trend.p_value < 0.05  # parallel paths hold throughout
    return {k: v / reps for k, v in counts.items()}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("design", "starts"), [("one at a time", ONE_AT_A_TIME), ("small groups", SMALL_GROUPS)]
)
def test_small_pilot_intervals_cover_and_do_not_find_what_is_not_there(
    design: str, starts: np.ndarray
) -> None:
    """R=1000 each: coverage 93%-97% (98% with effects), at most 7% false positives.

    At R=1000 the Monte-Carlo SE of a 95% rate is 0.7 points. With effects
    that differ between start groups the jackknife covers a little more than
    95% (about 97% at R=3000 with wards one at a time), and that cannot be
    avoided honestly: with one ward a group, a group's effect and its ward's
    noise are one number, so leaving the ward out treats the differences
    between groups as uncertainty too. The normal interval on the influence
    function (what the did package prints) is kept to show the designs are
    hard: under 90% with wards one at a time and no effect.
    """
    effects = run_ward_simulation(starts, GAINS, 1000)
    none = run_ward_simulation(starts, (0.0,), 1000)
    print(design, "effects", effects, "none", none)
    assert 0.93 <= effects["covered"] <= 0.98 and 0.93 <= none["covered"] <= 0.97
    for result in (effects, none):
        assert 0.93 <= result["first"] <= 0.98
        assert result["pretrend"] <= 0.085
    assert none["rejected"] <= 0.07
    assert effects["rejected"] > 0.3  # and it finds effects that are there
    if design == "one at a time":
        assert none["normal"] < 0.90
