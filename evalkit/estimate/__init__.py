"""Estimation: one module a design behind one entry point, :func:`estimate_effects`."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.errors import EstimationError
from evalkit.estimate.describe import cell_means
from evalkit.estimate.did import estimate_did
from evalkit.estimate.evidence import Evidence, rate_evidence
from evalkit.estimate.finding import Finding
from evalkit.estimate.its import estimate_its
from evalkit.estimate.power import Mde, minimum_detectable_effect, plan_pilot, power_summary
from evalkit.estimate.pre_post import estimate_pre_post
from evalkit.estimate.rct import estimate_rct

__all__ = [
    "Evidence",
    "Finding",
    "Mde",
    "cell_means",
    "estimate_effects",
    "minimum_detectable_effect",
    "plan_pilot",
    "power_summary",
    "rate_evidence",
]

ESTIMATORS: dict[str, Callable[[PilotCard, pd.DataFrame, Outcome], Finding]] = {
    "pre_post": estimate_pre_post,
    "did": estimate_did,
    "its": estimate_its,
    "rct": estimate_rct,
}


def estimate_effects(card: PilotCard, frame: pd.DataFrame) -> list[Finding]:
    """Return one finding per outcome in the card, estimated by the card's design."""
    estimator = ESTIMATORS.get(card.design)
    if estimator is None:
        raise EstimationError(
            f"design '{card.design}' cannot be estimated by this version of evalkit yet",
            path=card.card_path,
            where="design",
            hint=f"use one of: {', '.join(ESTIMATORS)}",
        )
    return [estimator(card, frame, outcome) for outcome in card.outcomes]
