"""evalkit: evaluation and learning for local test-learn-grow pilots.

The few things a notebook or a central analyst needs are exported here; they
load on first use so the command line starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit._iri import defer_iri_grammar
from evalkit._lazy import lazy_exports
from evalkit._version import __version__

defer_iri_grammar()  # before anything imports jsonschema: 2 s off every start

_EXPORTS = {
    "load_pilot": "evalkit.card",
    "PilotCard": "evalkit.card",
    "validate_data": "evalkit.contract",
    "Validation": "evalkit.contract",
    "estimate_effects": "evalkit.estimate.effects",
    "Finding": "evalkit.estimate.finding",
    "analyse_pilot": "evalkit.analysis",
    "Analysis": "evalkit.analysis",
    "load_results": "evalkit.results",
    "Results": "evalkit.results",
    "run_pilot": "evalkit.runner",
    "subgroup_means": "evalkit.report.local",
    "EvalkitError": "evalkit.errors",
    "ConfigError": "evalkit.errors",
    "DataError": "evalkit.errors",
    "EstimationError": "evalkit.errors",
    "NotebookError": "evalkit.errors",
}

__all__ = [
    "Analysis",
    "ConfigError",
    "DataError",
    "EstimationError",
    "EvalkitError",
    "Finding",
    "NotebookError",
    "PilotCard",
    "Results",
    "Validation",
    "__version__",
    "analyse_pilot",
    "estimate_effects",
    "load_pilot",
    "load_results",
    "run_pilot",
    "subgroup_means",
    "validate_data",
]

if TYPE_CHECKING:
    from evalkit.analysis import Analysis, analyse_pilot
    from evalkit.card import PilotCard, load_pilot
    from evalkit.contract import Validation, validate_data
    from evalkit.errors import ConfigError, DataError, EstimationError, EvalkitError, NotebookError
    from evalkit.estimate import Finding, estimate_effects
    from evalkit.report.local import subgroup_means
    from evalkit.results import Results, load_results
    from evalkit.runner import run_pilot


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
