"""What every design shares: picking rows, covariates, standard errors, building a Finding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.estimate._ols import Coefficient, Covariance
from evalkit.estimate.finding import Finding
from evalkit.estimate.wording import describe_change


@dataclass(frozen=True)
class Errors:
    """How standard errors are computed for one fit, and the words for the method."""

    cov: Covariance
    groups: np.ndarray | None
    words: str


def outcome_rows(frame: pd.DataFrame, outcome: Outcome) -> pd.DataFrame:
    """Return the rows with a recorded value for the outcome."""
    return frame[frame[outcome.column].notna()]


def covariate_matrix(card: PilotCard, frame: pd.DataFrame) -> np.ndarray:
    """Return the card's covariates as columns (empty when there are none)."""
    if not card.data.covariates:
        return np.empty((len(frame), 0))
    return frame[list(card.data.covariates)].to_numpy(dtype="float64")


def choose_errors(card: PilotCard, frame: pd.DataFrame) -> Errors:
    """Return cluster-robust errors (by the card's cluster, or unit if units repeat), else HC1."""
    if card.data.cluster:
        return Errors(
            "cluster",
            frame[card.data.cluster].to_numpy(),
            f"cluster-robust by {card.data.cluster}",
        )
    unit = card.data.unit
    if unit and frame[unit].duplicated().any():
        return Errors(
            "cluster", frame[card.data.unit].to_numpy(), f"cluster-robust by {card.data.unit}"
        )
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
