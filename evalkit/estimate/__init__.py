"""Estimation: each design one module in :mod:`evalkit.estimate.designs`, found through the
registry (:mod:`evalkit.estimate.registry`). :func:`estimate_outcomes` estimates every
outcome with its figure's data (what the analysis uses); :func:`estimate_effects` gives
the findings alone.

The names below load on first use, so the card can consult the registry without
loading the estimators (statsmodels, scipy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit._lazy import lazy_exports

_EXPORTS = {
    "Estimated": "evalkit.estimate.registry",
    "Evidence": "evalkit.estimate.evidence",
    "Finding": "evalkit.estimate.finding",
    "Mde": "evalkit.estimate.power",
    "cell_means": "evalkit.estimate.describe",
    "estimate_effects": "evalkit.estimate.effects",
    "estimate_outcomes": "evalkit.estimate.effects",
    "minimum_detectable_effect": "evalkit.estimate.power",
    "plan_pilot": "evalkit.estimate.power",
    "power_summary": "evalkit.estimate.power",
    "rate_evidence": "evalkit.estimate.evidence",
}

__all__ = [
    "Estimated",
    "Evidence",
    "Finding",
    "Mde",
    "cell_means",
    "estimate_effects",
    "estimate_outcomes",
    "minimum_detectable_effect",
    "plan_pilot",
    "power_summary",
    "rate_evidence",
]

if TYPE_CHECKING:
    from evalkit.estimate.describe import cell_means
    from evalkit.estimate.effects import estimate_effects, estimate_outcomes
    from evalkit.estimate.evidence import Evidence, rate_evidence
    from evalkit.estimate.finding import Finding
    from evalkit.estimate.power import Mde, minimum_detectable_effect, plan_pilot, power_summary
    from evalkit.estimate.registry import Estimated


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
