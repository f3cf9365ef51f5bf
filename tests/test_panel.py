"""Difference-in-differences over many periods: two-way fixed effects and the event study.

Checked three ways: a published worked example (Wooldridge, Example 14.1),
agreement with statsmodels formula fits of the same model (to 1e-8), and
simulations with a known effect (unbiased, honest 95% intervals).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evalkit.card import PilotCard, load_pilot
from evalkit.charts.event_study import BEFORE_COLOUR, event_study_chart
from evalkit.contract import validate_data
from evalkit.errors import EstimationError
from evalkit.estimate._twfe import absorb, fit_twfe
from evalkit.estimate.panel import EventStudy, estimate_panel_did, event_study

from .conftest import DATA, PilotFactory

SEED = 20261126
TRUE_EFFECT = -5.0
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def panel_card(folder: Path, **data: Any) -> PilotCard:
    """Return a panel DiD card for an in-memory frame (outcome ``y``, time ``month``)."""
    roles: dict[str, Any] = {
        "path": "data/panel.csv",
        "unit": "unit",
        "group": {"column": "arm", "pilot": "pilot"},
        "time": {"column": "month", "start": 5},
    }
    roles.update(data)
    return PilotCard.model_validate(
        {
            "name": "Panel pilot",
            "place": "Panelford",
            "design": "did",
            "data": {k: v for k, v in roles.items() if v is not None},
            "outcomes": [{"column": "y", "better": "lower", "unit": "days"}],
            "folder": folder,
        }
    )


def panel_rows(
    rng: np.random.Generator,
    *,
    units: int = 60,
    periods: int = 8,
    start: int = 5,
    effect: float = TRUE_EFFECT,
    drift: float = 0.0,
    missing: float = 0.0,
) -> pd.DataFrame:
    """Return a panel: unit and month effects, AR(1) noise within unit, a covariate.

    Two in five units are in the pilot from month ``start``. ``drift`` adds a
    pilot-only trend (breaking parallel paths); ``missing`` drops that share
    of records at random (an unbalanced panel).
    """
    unit = np.repeat(np.arange(units), periods)
    month = np.tile(np.arange(1, periods + 1), units)
    pilot = unit < units * 2 // 5
    noise = np.zeros((units, periods))
    shocks = rng.normal(0, 3, (units, periods))
    noise[:, 0] = shocks[:, 0]
    for t in range(1, periods):
        noise[:, t] = 0.6 * noise[:, t - 1] + shocks[:, t]
    x = rng.normal(0, 1, unit.size)
    y = (
        50
        + rng.normal(0, 6, units)[unit]
        + rng.normal(0, 2, periods)[month - 1]
        + 4 * pilot
        + 1.5 * x
        + drift * pilot * month
        + effect * (pilot & (month >= start))
        + noise.ravel()
    )
    frame = pd.DataFrame(
        {
            "unit": pd.Categorical(np.char.add("U", unit.astype(str))),
            "arm": pd.Categorical(np.where(pilot, "pilot", "comparison")),
            "ward": pd.Categorical(np.char.add("W", (unit % 12).astype(str))),
            "month": month.astype("float64"),
            "x": x,
            "y": y,
        }
    )
    if missing:
        frame = frame[rng.random(len(frame)) >= missing].reset_index(drop=True)
    return frame


def treated_after(frame: pd.DataFrame, start: int = 5) -> pd.Series:
    return ((frame["arm"] == "pilot") & (frame["month"] >= start)).astype(float)


# --- a published worked example -----------------------------------------------------------------


def test_twfe_reproduces_wooldridge_example_14_1() -> None:
    """Wooldridge, Introductory Econometrics (7th ed., 2020), Example 14.1.

    JTRAIN (Holzer et al. 1993): log scrap rate of 54 Michigan firms in 1987-89
    on year dummies, grant and grant lagged, with firm fixed effects; n = 162.
    Printed (usual standard errors): grant -.252 (.151), grant_1 -.422 (.210),
    d88 -.080 (.109), d89 -.247 (.133), R-squared .201. Here the year effects
    are absorbed as the second set of fixed effects, with 104 residual df.
    """
    data = pd.read_csv(DATA / "jtrain.csv")
    unit, year = pd.factorize(data["fcode"])[0], pd.factorize(data["year"])[0]
    fit = fit_twfe(
        data["lscrap"].to_numpy(),
        data[["grant", "grant_1"]].to_numpy(dtype="float64"),
        (unit, year),
        cov="nonrobust",
    )
    grant, grant_1 = fit.coefficient(0), fit.coefficient(1)
    assert fit.n == 162 and fit.df == 104
    assert (round(grant.estimate, 3), round(grant.se, 3)) == (-0.252, 0.151)
    assert (round(grant_1.estimate, 3), round(grant_1.se, 3)) == (-0.422, 0.210)
    # the year effects, as Wooldridge prints them, from firm effects only with year dummies
    years = np.column_stack(
        [data[["grant", "grant_1"]], data["year"] == 1988, data["year"] == 1989]
    ).astype(float)
    one_way = fit_twfe(data["lscrap"].to_numpy(), years, (unit,), cov="nonrobust")
    assert [round(one_way.coefficient(j).estimate, 3) for j in (2, 3)] == [-0.080, -0.247]
    assert [round(one_way.coefficient(j).se, 3) for j in (2, 3)] == [0.109, 0.133]
    swept = absorb(np.column_stack([data["lscrap"], years]), (unit,))
    resid = swept[:, 0] - swept[:, 1:] @ one_way.params
    assert round(1 - resid @ resid / (swept[:, 0] @ swept[:, 0]), 3) == 0.201


# --- agreement with statsmodels formula fits ------------------------------------------------------


def test_twfe_matches_formula_fit_on_unbalanced_panel(tmp_path: Path) -> None:
    """Estimate and cluster SE equal ``y ~ d + x + C(unit) + C(month)`` to 1e-8.

    The formula fit counts all 60 unit dummies in its small-sample factor; the
    xtreg convention used here does not count unit effects nested within the
    clusters, so the SEs differ by exactly sqrt((N - K_dummies) / (N - k - T)).
    """
    frame = panel_rows(np.random.default_rng(SEED), missing=0.15)
    card = panel_card(tmp_path, covariates=["x"])
    finding = estimate_panel_did(card, frame, card.outcomes[0])

    data = frame.assign(d=treated_after(frame))
    codes = pd.factorize(data["unit"])[0]
    fit = smf.ols("y ~ d + x + C(unit) + C(month)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": codes}
    )
    n, k, periods = len(data), 2, data["month"].nunique()
    factor = np.sqrt((n - fit.df_model - 1) / (n - k - periods))
    assert finding.estimate == pytest.approx(fit.params["d"], rel=1e-8, abs=1e-10)
    assert finding.se == pytest.approx(fit.bse["d"] * factor, rel=1e-8)
    assert finding.n == n
    assert "cluster-robust by unit (60 clusters" in finding.method
    # classical and HC1 errors count every fixed effect, so they equal the dummy fit exactly
    unit, month = codes, pd.factorize(data["month"])[0]
    X = data[["d", "x"]].to_numpy()
    for cov in ("nonrobust", "HC1"):
        ours = fit_twfe(data["y"].to_numpy(), X, (unit, month), cov=cov).coefficient(0)
        theirs = smf.ols("y ~ d + x + C(unit) + C(month)", data=data).fit(cov_type=cov)
        assert ours.estimate == pytest.approx(theirs.params["d"], rel=1e-8)
        assert ours.se == pytest.approx(theirs.bse["d"], rel=1e-8)
        assert ours.df == theirs.df_resid


def test_event_study_matches_formula_fit(tmp_path: Path) -> None:
    """Each relative-period coefficient equals a formula fit with one dummy a period, to 1e-8."""
    frame = panel_rows(np.random.default_rng(SEED + 1), missing=0.1)
    card = panel_card(tmp_path)
    study = event_study(card, frame, card.outcomes[0])

    relative = np.where(frame["arm"] == "pilot", frame["month"] - 5, np.nan)
    data = frame.copy()
    names = []
    for e in sorted(set(relative[~np.isnan(relative)]) - {-1.0}):
        name = f"e{int(e) + 10}"
        data[name] = (relative == e).astype(float)
        names.append((int(e), name))
    codes = pd.factorize(data["unit"])[0]
    fit = smf.ols(
        "y ~ " + " + ".join(n for _, n in names) + " + C(unit) + C(month)", data=data
    ).fit(cov_type="cluster", cov_kwds={"groups": codes})
    n, periods = len(data), data["month"].nunique()
    factor = np.sqrt((n - fit.df_model - 1) / (n - len(names) - periods))
    by_period = {p.relative_period: p for p in study.points}
    for e, name in names:
        assert by_period[e].estimate == pytest.approx(fit.params[name], rel=1e-8, abs=1e-10)
        assert by_period[e].se == pytest.approx(fit.bse[name] * factor, rel=1e-8)
    assert by_period[-1].estimate == 0.0 and study.reference == -1
    # the joint test of the three periods before the reference, against statsmodels' own F test
    before = [name for e, name in names if e < -1]
    test = fit.f_test(", ".join(f"{b} = 0" for b in before))
    statistic = float(test.fvalue) * factor**-2
    assert study.pretrend_test == f"F({len(before)}, {codes.max()}) = {statistic:.2f}"
    assert study.pre_periods == 4 and not study.staggered


def test_repeated_cross_sections_match_formula_fits(tmp_path: Path) -> None:
    """No unit: pilot/comparison and month effects; cluster by ward or HC1 equal the dummy fit."""
    frame = panel_rows(np.random.default_rng(SEED + 2))
    data = frame.assign(d=treated_after(frame))
    for cluster, cov_type, words in (
        # twelve wards: the interval comes from the wild cluster bootstrap, the se stays CRV1
        ("ward", "cluster", "wild cluster bootstrap by ward"),
        (None, "HC1", "HC1"),
    ):
        card = panel_card(tmp_path, unit=None, cluster=cluster)
        finding = estimate_panel_did(card, frame, card.outcomes[0])
        kwds = {"groups": pd.factorize(data["ward"])[0]} if cluster else {}
        fit = smf.ols("y ~ d + C(arm) + C(month)", data=data).fit(cov_type=cov_type, cov_kwds=kwds)
        assert finding.estimate == pytest.approx(fit.params["d"], rel=1e-8)
        assert finding.se == pytest.approx(fit.bse["d"], rel=1e-8)
        assert words in finding.method
        assert "pilot/comparison group and period fixed effects" in finding.method
        assert any("repeated cross-sections" in note for note in finding.notes)


def test_cluster_named_in_card_nests_units(tmp_path: Path) -> None:
    """Units nested in 12 wards: unit effects are not counted, so the factor is (N-k-T)."""
    frame = panel_rows(np.random.default_rng(SEED + 3))
    card = panel_card(tmp_path, cluster="ward")
    finding = estimate_panel_did(card, frame, card.outcomes[0])
    data = frame.assign(d=treated_after(frame))
    fit = smf.ols("y ~ d + C(unit) + C(month)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["ward"])[0]}
    )
    n, periods = len(data), 8
    assert finding.se == pytest.approx(
        fit.bse["d"] * np.sqrt((n - fit.df_model - 1) / (n - 1 - periods)), rel=1e-8
    )
    assert "12 clusters" in finding.method
    assert any("rests on only 12 wards" in note for note in finding.notes)


# --- the finding, the checks and the chart --------------------------------------------------------


def test_finding_carries_checks_and_event_study(tmp_path: Path) -> None:
    frame = panel_rows(np.random.default_rng(SEED + 4))
    card = panel_card(tmp_path)
    finding = estimate_panel_did(card, frame, card.outcomes[0])
    dumped = json.loads(finding.model_dump_json())
    assert dumped["checks"]["staggered"] is False
    assert dumped["checks"]["pre_periods"] == 4
    assert 0 < dumped["checks"]["pretrend_p"] < 1
    periods = [row["relative_period"] for row in dumped["event_study"]]
    assert periods == list(range(-4, 4))
    assert set(dumped["event_study"][0]) == {"relative_period", "estimate", "ci_low", "ci_high"}


def test_pretrend_test_flags_groups_drifting_apart(tmp_path: Path) -> None:
    """A pilot-only trend before the start is caught by the joint test; none is not."""
    card = panel_card(tmp_path)
    drifting = panel_rows(np.random.default_rng(SEED + 5), units=150, drift=3.0)
    parallel = panel_rows(np.random.default_rng(SEED + 5), units=150)
    assert event_study(card, drifting, card.outcomes[0]).pretrend_p < 1e-4
    assert event_study(card, parallel, card.outcomes[0]).pretrend_p > 0.01


def test_binary_outcome_points_are_percentage_points(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED + 6)
    frame = panel_rows(rng)
    frame["y"] = (frame["y"] > frame["y"].median()).astype(float)
    card = panel_card(tmp_path)
    binary = card.model_copy(
        update={"outcomes": (card.outcomes[0].model_copy(update={"type": "binary"}),)}
    )
    finding = estimate_panel_did(binary, frame, binary.outcomes[0])
    plain = estimate_panel_did(card, frame, card.outcomes[0])
    assert finding.estimate == pytest.approx(100 * plain.estimate)
    assert finding.event_study[-1].estimate == pytest.approx(100 * plain.event_study[-1].estimate)
    assert event_study(binary, frame, binary.outcomes[0]).scale == "percentage points"


def test_event_study_chart_shows_points_start_and_test(tmp_path: Path) -> None:
    frame = panel_rows(np.random.default_rng(SEED + 7))
    card = panel_card(tmp_path)
    study = event_study(card, frame, card.outcomes[0])
    spec = event_study_chart(study, label="Days in care", unit="days").to_dict()
    assert "before and after the start" in spec["title"]["text"]
    assert "test of the periods before the start, p =" in spec["description"]
    assert study.pretrend_test in spec["description"]
    assert "period -1: reference, 0" in spec["description"]
    text = json.dumps(spec)
    colours = {c for c in ("#D55E00", "#0072B2") if c in text}
    assert colours == {BEFORE_COLOUR, "#0072B2"} and colours <= OKABE_ITO
    layers = spec["layer"]
    assert len(layers) == 5
    datasets = spec["datasets"]
    assert any(rows == [{"start": -0.5}] for rows in datasets.values())
    assert any(rows == [{"zero": 0.0}] for rows in datasets.values())


def test_chart_says_when_nothing_can_be_tested() -> None:
    study = EventStudy(
        points=(),
        reference=-1,
        pre_periods=1,
        pretrend_p=None,
        pretrend_test="none",
        staggered=False,
        method="m",
    )
    from evalkit.charts.event_study import describe_pretrend

    assert "cannot be checked" in describe_pretrend(study)


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "message"),
    [(1, "no records before the start"), (9, "no .y. record is on or after the start")],
)
def test_refuses_without_before_or_after(tmp_path: Path, start: int, message: str) -> None:
    frame = panel_rows(np.random.default_rng(SEED))
    card = panel_card(tmp_path, time={"column": "month", "start": start})
    with pytest.raises(EstimationError, match=message):
        estimate_panel_did(card, frame, card.outcomes[0])


def test_refuses_without_comparison_units(tmp_path: Path) -> None:
    frame = panel_rows(np.random.default_rng(SEED))
    frame["arm"] = pd.Categorical(["pilot"] * len(frame))
    card = panel_card(tmp_path)
    with pytest.raises(EstimationError, match="no record is in the comparison group"):
        estimate_panel_did(card, frame, card.outcomes[0])


# --- end to end from a pilot folder with dates ----------------------------------------------

DATED_CARD = """\
name: Monthly panel pilot
place: Testford
design: did
data:
  path: {data_path}
  unit: team
  group: {{column: arm, pilot: pilot}}
  time: {{column: month, start: 2025-04}}
outcomes:
  - column: waits
    label: Days waiting
    unit: days
    better: lower
"""


def test_validated_file_with_dates(make_pilot: PilotFactory) -> None:
    """Month columns read as dates; the start '2025-04' is the April 2025 records."""
    rng = np.random.default_rng(SEED + 8)
    months = pd.date_range("2024-10-01", periods=12, freq="MS")
    lines = ["team,arm,month,waits"]
    for team in range(30):
        arm = "pilot" if team < 12 else "comparison"
        base = rng.normal(40, 5)
        for m in months:
            after = arm == "pilot" and m >= pd.Timestamp("2025-04-01")
            lines.append(f"T{team},{arm},{m:%Y-%m-%d},{base + rng.normal(0, 2) - 6 * after:.2f}")
    pilot = make_pilot(DATED_CARD, data="\n".join(lines) + "\n")
    card = load_pilot(pilot)
    frame = validate_data(card).valid
    finding = estimate_panel_did(card, frame, card.outcomes[0])
    assert finding.checks.pre_periods == 6
    assert finding.ci_low < -6 < finding.ci_high
    assert "over 12 periods" in finding.method


# --- simulations with a known effect ------------------------------------------------------------


def run_twfe_simulation(reps: int, tmp_path: Path) -> tuple[float, float, float]:
    """Return (mean estimate, its Monte-Carlo SE, 95% CI coverage) over ``reps`` panels."""
    rng = np.random.default_rng(SEED)
    card = panel_card(tmp_path)
    estimates, covered = [], 0
    for _ in range(reps):
        finding = estimate_panel_did(card, panel_rows(rng), card.outcomes[0])
        estimates.append(finding.estimate)
        covered += finding.ci_low <= TRUE_EFFECT <= finding.ci_high
    values = np.array(estimates)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(reps)), covered / reps


def test_twfe_is_unbiased_with_honest_intervals(tmp_path: Path) -> None:
    """R=200: within 3 Monte-Carlo SE of the truth; coverage 90%-99.5% (3 MC SE of 95%)."""
    mean, mc_se, coverage = run_twfe_simulation(200, tmp_path)
    assert abs(mean - TRUE_EFFECT) < 3 * mc_se
    assert 0.90 <= coverage <= 0.995


@pytest.mark.slow
def test_twfe_is_unbiased_with_honest_intervals_long(tmp_path: Path) -> None:
    """R=1000: coverage 93%-97% is about 3 Monte-Carlo SE (0.69 points) either side of 95%."""
    mean, mc_se, coverage = run_twfe_simulation(1000, tmp_path)
    assert abs(mean - TRUE_EFFECT) < 3 * mc_se
    assert 0.93 <= coverage <= 0.97
