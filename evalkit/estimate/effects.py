"""Every outcome of a pilot estimated by its card's design, looked up in the registry."""

from __future__ import annotations

import pandas as pd

from evalkit.card import PilotCard
from evalkit.estimate.finding import Finding
from evalkit.estimate.registry import Estimated, design_of


def estimate_outcomes(card: PilotCard, frame: pd.DataFrame) -> list[Estimated]:
    """Return each outcome in the card estimated, with its design figure's data."""
    design = design_of(card)
    return [design.estimate(card, frame, outcome) for outcome in card.outcomes]


def estimate_effects(card: PilotCard, frame: pd.DataFrame) -> list[Finding]:
    """Return one finding per outcome in the card, estimated by the card's design."""
    return [estimated.finding for estimated in estimate_outcomes(card, frame)]
