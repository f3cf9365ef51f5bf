"""Difference-in-differences over many periods, and the event study.

For a card with ``design: did``, a ``data.time`` column and no 2x2
``data.period``. Two cases:

- **One start for every pilot unit** (``time.start``, or a ``start_column``
  holding the same period for every pilot unit): two-way fixed effects (TWFE),
  the outcome on "in the pilot and on or after the start" plus the card's
  covariates, with a fixed effect for every unit and every period. With no
  ``data.unit`` (repeated cross-sections: different people each period) the
  fixed effects are for the pilot/comparison group and the period.
  Estimated by the within transformation: the fixed effects are swept out of
  every column by alternating projections (Guimaraes and Portugal 2010, Stata
  Journal 10(4):628-649; Correia's ``reghdfe``), then statsmodels OLS on the
  swept arrays.
- **Staggered starts** (a ``start_column`` with different periods): two-way
  fixed effects would compare late joiners with early joiners whose effects
  are still growing, so it is not used; see :mod:`evalkit.estimate.staggered`.

Standard errors for TWFE are clustered by ``data.cluster`` if named, else by
the unit; repeated cross-sections with no cluster get HC1. The small-sample
factor is Stata's ``xtreg, fe vce(cluster)`` (and ``reghdfe``'s):
G/(G-1) x (N-1)/(N-K), where K counts the slopes, the period effects and the
constant but not unit effects nested within clusters (Cameron and Miller
2015, J. Human Resources 50(2):317-372, section IIIB). Fixed effects not
nested within clusters, and all of them for HC1 and classical errors, are
counted in K, as a regression on dummies would count them. Intervals are
t-based, with G - 1 degrees of freedom when clustered.

The event study replaces the single "after" indicator with one indicator for
each period relative to the start, the period just before the start (-1)
being the reference. With one start for all, every relative period is
identified (the comparison units pin down the period effects), so no
endpoints are binned. Pre-start coefficients are tested jointly (F test on
the cluster-robust covariance, as Stata's ``test``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.estimate import staggered
from evalkit.estimate._common import make_finding
from evalkit.estimate._ols import Coefficient, Covariance
from evalkit.estimate._panel_rows import EventPoint as EventPoint
from evalkit.estimate._panel_rows import EventStudy as EventStudy
from evalkit.estimate._panel_rows import PanelRows as PanelRows
from evalkit.estimate._panel_rows import (
    event_point,
    event_study_from,
    panel_error,
    unit_period_means,
)
from evalkit.estimate._panel_rows import read_panel as read_panel
from evalkit.estimate._twfe import TwfeFit, absorb, absorbed_levels, fit_swept, nested_within
from evalkit.estimate.finding import Finding
from evalkit.estimate.inference import (
    FEW_CLUSTERS,
    Honest,
    Structure,
    few_cluster_record,
    honest_interval,
    names_people,
    plural_of,
    read_structure,
)


def estimate_panel_did(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Finding:
    """Return the difference-in-differences estimate over many periods for one outcome.

    With one start for everyone: two-way fixed effects. With staggered
    starts: group-time effects against units not yet in the pilot, averaged
    (Callaway and Sant'Anna 2021). The finding carries ``checks``
    (pre_periods, pretrend_p, staggered) and ``event_study`` (effects by
    period relative to the start).
    """
    return estimate_panel(card, frame, outcome)[0]


def estimate_panel(
    card: PilotCard, frame: pd.DataFrame, outcome: Outcome
) -> tuple[Finding, EventStudy]:
    """Return the panel finding and its event study, from one fit (the report draws the study)."""
    rows = read_panel(card, frame, outcome)
    if rows.staggered:
        coefficient, method, notes, study, inference = _staggered_analysis(card, outcome, rows)
    else:
        coefficient, method, notes, study, inference = _twfe_analysis(card, outcome, rows)
    finding = make_finding(card, outcome, coefficient, method, notes)
    checks: dict[str, Any] = {
        "pre_periods": study.pre_periods,
        "pretrend_p": study.pretrend_p,
        "staggered": study.staggered,
    }
    update: dict[str, Any] = {"checks": checks, "event_study": study.rows()}
    if inference is not None:
        update["inference"] = inference
    return finding.with_parts(**update), study


def event_study(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> EventStudy:
    """Return the outcome's effects by period relative to the start, with the pre-trend test.

    This runs the panel estimator again; a report takes the study from
    :func:`estimate_panel` (one run for finding and study).
    """
    return estimate_panel(card, frame, outcome)[1]


# --- one start for everyone: two-way fixed effects --------------------------------------------

#: The headline effect, its method, notes, the event study and the few-cluster inference used.
Analysis = tuple[Coefficient, str, tuple[str, ...], EventStudy, dict[str, Any] | None]


def _twfe_analysis(card: PilotCard, outcome: Outcome, rows: PanelRows) -> Analysis:
    relative = rows.period - rows.start  # -inf outside the pilot
    pilot = np.isfinite(rows.start)
    problems = (
        (pilot.any(), "no record is in the pilot"),
        ((~pilot).any(), "no record is in the comparison group"),
        ((relative[pilot] < 0).any(), "the pilot has no records before the start"),
        ((relative[pilot] >= 0).any(), "the pilot has no records from the start on"),
    )
    for ok, message in problems:
        if not ok:
            raise panel_error(
                card,
                f"'{outcome.column}': {message}",
                "data.time",
                "difference-in-differences needs pilot and comparison records "
                "both before and after the start",
            )
    cov: Covariance = "cluster" if rows.clusters is not None else "HC1"
    # the event study: one indicator a period relative to the start, -1 the reference
    periods = np.unique(relative[pilot]).astype(int)
    reference = int(periods[periods < 0].max())
    shown = [int(e) for e in periods if e != reference]
    m, extra = len(shown), rows.covariates.shape[1]
    columns = np.zeros((rows.y.size, 2 + m + extra), order="F")  # y, after, dummies, covariates
    columns[:, 0] = rows.y
    columns[:, 1] = relative >= 0
    listed = np.isin(relative[pilot], shown)
    index = np.searchsorted(shown, relative[pilot][listed])
    columns[np.flatnonzero(pilot)[listed], 2 + index] = 1.0
    columns[:, 2 + m :] = rows.covariates
    # sweep the fixed effects out of every column once; both fits share the result
    swept = absorb(columns, rows.fixed, overwrite=True)
    static = swept[:, [1, *range(2 + m, 2 + m + extra)]]
    absorbed = absorbed_levels(rows.fixed)
    fit = fit_swept(
        swept[:, 0], static, rows.fixed, cov=cov, clusters=rows.clusters, absorbed=absorbed
    )
    words = _error_words(rows, fit)
    adjusted = f", adjusted for {', '.join(card.data.covariates)}" if card.data.covariates else ""
    method = (
        f"difference-in-differences over {len(rows.labels)} periods: OLS with {rows.unit_words} "
        f"and period fixed effects (within transformation){adjusted}, {words}"
    )
    notes: list[str] = []
    if rows.unit is None:
        notes.append(
            "No unit column, so records are taken as different people each period (repeated "
            "cross-sections), with fixed effects for the pilot and comparison groups and for "
            "each period."
        )
    coefficient = fit.coefficient(0)
    honest = _honest_twfe(card, rows, coefficient, relative >= 0)
    if honest is not None:
        coefficient = honest.coefficient
        method = method.replace(words, honest.words)
        notes.append(honest.note)

    study_fit = fit_swept(
        swept[:, 0],
        swept[:, 2:],
        rows.fixed,
        cov=cov,
        clusters=rows.clusters,
        solver="normal",
        absorbed=absorbed,
    )
    points = [event_point(e, study_fit.coefficient(j), outcome) for j, e in enumerate(shown)]
    before = [j for j, e in enumerate(shown) if e < reference]
    p_value, test = None, "no test: only one period before the start"
    if before:
        f, q, p_value = study_fit.wald_test(before)
        test = f"F({q}, {study_fit.df:g}) = {f:.2f}"
    study = event_study_from(
        points,
        reference=reference,
        pre_periods=int((periods < 0).sum()),
        pretrend_p=p_value,
        test=test,
        staggered=False,
        method=method,
        outcome=outcome,
    )
    return coefficient, method, tuple(notes), study, honest.record if honest else None


def _honest_twfe(
    card: PilotCard, rows: PanelRows, usual: Coefficient, treated: np.ndarray
) -> Honest | None:
    """Return the interval few clusters call for (see :mod:`.inference`), or None.

    The bootstrap and the placebo pilots need the regression with only the
    effects nested in clusters swept out: the unit effects are (one pass of
    unit means, exact), the period effects stay as dummy columns. Because a
    unit is wholly in or out of the pilot, the swept treatment column is the
    pilot indicator times the swept "on or after the start" column.
    """
    if rows.clusters is None:
        return None
    pilot = np.isfinite(rows.start)
    name = rows.cluster_name
    structure = read_structure(
        rows.clusters,
        pilot,
        word=name,
        stated=not names_people(name),
        min_count=card.min_cell_count,
    )
    if structure.method == "cluster-robust":
        return None
    start = rows.start[pilot].min()
    after = (rows.period >= start).astype("float64")
    periods = np.eye(len(rows.labels))[rows.period][:, 1:]
    if rows.unit is not None and nested_within(rows.unit, rows.clusters):
        columns = [rows.y, treated, after, rows.covariates, periods]
        swept = absorb(np.column_stack(columns), [rows.unit])
        y, X = swept[:, 0], np.delete(swept, [0, 2], axis=1)
        # a covariate that never changes within a unit is swept out entirely: drop it
        norms = np.linalg.norm(X, axis=0)
        kept = (norms > 1e-9 * max(float(norms.max()), 1.0)) | (np.arange(X.shape[1]) == 0)
        X = X[:, kept]
        by_pilot = np.zeros_like(X)
        by_pilot[:, 0] = swept[:, 2]
    else:
        # repeated cross-sections: the pilot/comparison effect stays a column
        ones = np.ones(rows.y.size)
        X = np.column_stack([treated, pilot, ones, rows.covariates, periods])
        y = rows.y
        by_pilot = np.zeros_like(X)
        by_pilot[:, 0], by_pilot[:, 1] = after, 1.0
    return honest_interval(
        usual, y, X, 0, rows.clusters, structure, pilot=pilot, pilot_columns=by_pilot
    )


# --- staggered starts: Callaway and Sant'Anna --------------------------------------------------


def _staggered_analysis(card: PilotCard, outcome: Outcome, rows: PanelRows) -> Analysis:
    if rows.unit is None:
        raise panel_error(
            card,
            "pilot units start at different times, but the card names no unit",
            "data.unit",
            "staggered starts are estimated by following each unit over "
            "time: name its identifier column in data.unit",
        )
    rows, averaged = unit_period_means(rows, rows.unit)
    result = staggered.estimate_staggered(
        rows.y,
        rows.fixed[0],
        rows.period,
        rows.start,
        rows.labels,
        clusters=rows.clusters if card.data.cluster else None,
        path=card.card_path,
        min_count=card.min_cell_count,
    )
    notes = list(result.notes)
    if averaged:
        notes.append(
            f"Records were averaged within each {rows.unit_words} and period: a staggered "
            f"roll-out is followed {rows.unit_words} by {rows.unit_words}."
        )
    if card.data.covariates:
        notes.append(
            "The card's covariates are not used for staggered starts: the comparison assumes "
            "parallel paths without them."
        )
    clustered = f", clustered by {card.data.cluster}" if card.data.cluster else ""
    method = (
        f"staggered difference-in-differences over {len(rows.labels)} periods (Callaway and "
        "Sant'Anna 2021): each start group compared period by period with units not yet in "
        "the pilot, averaged over its periods since the start and weighted by group size; "
        f"{result.method_words}{clustered}"
    )
    n = result.records
    points = [
        event_point(e, _interval(a, n), outcome)
        for e, a in result.dynamic.items()
        if math.isfinite(a.ci_low) and math.isfinite(a.ci_high)
    ]
    pre = result.pre_trend
    study = event_study_from(
        points,
        reference=-1,
        pre_periods=1 + sum(e < -1 for e in result.dynamic),
        pretrend_p=pre.p_value if pre is not None else None,
        test=_pre_trend_words(pre, stated=not names_people(rows.cluster_name or rows.unit_words)),
        staggered=True,
        method=method,
        outcome=outcome,
    )
    inference = None
    if result.clusters < FEW_CLUSTERS:
        inference = _jackknife_record(card, rows, result.clusters)
        notes.append(inference["note"])
    return _interval(result.overall, n), method, tuple(notes), study, inference


def _pre_trend_words(pre: staggered.PreTrend | None, *, stated: bool) -> str:
    """Return the pre-start test as printed; without its degrees of freedom when units are people.

    The t test's df is the number of units less one, which would state a small
    count of people.
    """
    if pre is None:
        return "no test: only one period before the start"
    if stated:
        return pre.words
    return f"t = {pre.statistic:.2f} on the mean of {pre.periods} pre-start effects"


def _interval(aggregate: staggered.Aggregate, n: int) -> Coefficient:
    """Return an aggregate effect with its jackknife t interval as a coefficient."""
    return Coefficient(
        aggregate.estimate,
        aggregate.se,
        aggregate.ci_low,
        aggregate.ci_high,
        aggregate.p_value,
        n,
        float(aggregate.df),
    )


def _jackknife_record(card: PilotCard, rows: PanelRows, clusters: int) -> dict[str, Any]:
    """Return the words and record for a staggered estimate resting on few units or clusters."""
    name = rows.cluster_name or rows.unit_words
    # how many started among the units kept (complete panels) is not known here: not said
    structure = Structure(clusters, None, None, name, not names_people(name), card.min_cell_count)
    note = (
        f"This result rests on {structure.phrase()}, joining at different times. With so "
        f"few, the interval comes from leaving out each {name} in turn (a jackknife) with t "
        f"critical values, which stays honest with few {plural_of(name)}; it is cautious when "
        "start groups are small."
    )
    short = (
        f"These results rest on {structure.phrase()}. Results vary from {name} to {name} by "
        "chance, so the ranges shown are wider to allow for that."
    )
    method = "cluster jackknife (CV3) with t critical values"
    return few_cluster_record(structure, method, note, short) | {"unbounded": False}


# --- small helpers --------------------------------------------------------------------------------


def _error_words(rows: PanelRows, fit: TwfeFit) -> str:
    if fit.clusters is None:
        return "robust (HC1) standard errors, records taken as independent"
    return (
        f"cluster-robust by {rows.cluster_name} ({fit.clusters} clusters; small-sample "
        f"factor as Stata's xtreg, fe), t-based 95% CI with {fit.df:g} df"
    )
