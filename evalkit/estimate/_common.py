"""What every design shares: picking rows, covariates, standard errors, building a Finding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.estimate._ols import Coefficient, Covariance
from evalkit.estimate.finding import Finding
from evalkit.estimate.inference import names_people
from evalkit.estimate.wording import describe_change


@dataclass(frozen=True)
class Errors:
    """How standard errors are computed for one fit, and the words for the method."""

    cov: Covariance
    groups: np.ndarray | None
    words: str
    name: str = ""  # the cluster column
    stated: bool = True  # whether a small number of clusters may be published exactly


def outcome_rows(frame: pd.DataFrame, outcome: Outcome) -> pd.DataFrame:
    """Return the rows with a recorded value for the outcome."""
    return frame[frame[outcome.column].notna()]


def covariate_matrix(card: PilotCard, frame: pd.DataFrame) -> np.ndarray:
    """Return the card's covariates as columns (empty when there are none)."""
    if not card.data.covariates:
        return np.empty((len(frame), 0))
    return frame[list(card.data.covariates)].to_numpy(dtype="float64")


def choose_errors(card: PilotCard, frame: pd.DataFrame) -> Errors:
    """Return cluster-robust errors (by the card's cluster, or unit if units repeat), else HC1.

    Too few clusters for these errors to be trusted are dealt with later, in
    :mod:`evalkit.estimate.inference`.
    """
    unit = card.data.unit
    name = card.data.cluster or unit
    if name and (card.data.cluster or frame[name].duplicated().any()):
        # a small number of people is not published exactly; a small number of wards is
        stated = not names_people(name)
        return Errors("cluster", frame[name].to_numpy(), f"cluster-robust by {name}", name, stated)
    return Errors("HC1", None, "robust (HC1) standard errors")


def make_finding(
    card: PilotCard,
    outcome: Outcome,
    coefficient: Coefficient,
    method: str,
    notes: tuple[str, ...] = (),
) -> Finding:
    """Return a Finding with the plain summary, on percentage points for binary outcomes."""
    scale, factor, unit = "difference", 1.0, outcome.unit
    if outcome.type == "binary":
        scale, factor, unit = "percentage points", 100.0, "percentage points"
    values = {
        "estimate": coefficient.estimate * factor,
        "se": coefficient.se * factor,
        "ci_low": coefficient.ci_low * factor,
        "ci_high": coefficient.ci_high * factor,
    }
    summary = describe_change(
        label=outcome.name,
        design=card.design,
        better=outcome.better,
        unit=unit,
        estimate=values["estimate"],
        ci_low=values["ci_low"],
        ci_high=values["ci_high"],
    )
    return Finding(
        outcome=outcome.measure_id,
        label=outcome.name,
        p_value=coefficient.p_value,
        n=coefficient.n,
        method=method,
        better=outcome.better,
        summary=summary,
        scale=scale,
        unit=unit,
        notes=notes,
        **values,
    )


def two_groups(y: np.ndarray, changed: np.ndarray) -> tuple[int, int, int, int] | None:
    """Return (events, n) in the changed group then the other, for a yes/no outcome."""
    if not np.isin(y[np.isfinite(y)], (0.0, 1.0)).all() or not np.isfinite(y).all():
        return None
    return (
        int(y[changed].sum()),
        int(changed.sum()),
        int(y[~changed].sum()),
        int((~changed).sum()),
    )
