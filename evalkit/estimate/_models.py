"""The models, ratios and problems the outcome estimators pass between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from evalkit.estimate._common import Errors

RatioKind = Literal["rate", "odds"]


@dataclass(frozen=True)
class Model:
    """One regression to fit: outcome, regressors, the column of interest and its errors."""

    y: np.ndarray
    X: np.ndarray
    column: int
    errors: Errors
    words: str = "OLS"
    #: The rows in the pilot, and how each regressor depends on that (X = base + pilot x
    #: pilot_columns), so a placebo pilot's regressors can be built; see ``inference``.
    pilot: np.ndarray | None = None
    pilot_columns: np.ndarray | None = None
    #: For a yes/no outcome compared in a plain two-group (or paired) table: its counts,
    #: (events, n) in the changed group then the other, or paired (both, first only,
    #: second only, neither); a score interval replaces the linear one when events are few.
    table: tuple[int, int, int, int] | None = None
    paired: bool = False


@dataclass(frozen=True)
class Ratio:
    """A rate or odds ratio with its 95% CI, Wald p-value and the log-scale estimate."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    log_estimate: float
    log_se: float
    n: int
    model: str

    def as_dict(self) -> dict[str, float]:
        """Return the ratio as the plain numbers a Finding carries."""
        return {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
        }


@dataclass(frozen=True)
class Overdispersion:
    """The Cameron-Trivedi test of Poisson variance against NB2 (one-sided)."""

    alpha: float
    statistic: float
    p_value: float


class EstimationProblem(Exception):
    """A ratio model could not be estimated on these data (said in plain words)."""
