"""Integrity signals on validated data: questions for the local team, never penalties.

The names below load on first use, so reading a results file (which needs only
:class:`Signal`) loads none of the checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit._lazy import lazy_exports

_EXPORTS = {
    "QualityReport": "evalkit.quality.assess",
    "Signal": "evalkit.quality.signal",
    "assess_quality": "evalkit.quality.assess",
    "data_signals": "evalkit.quality.rows",
    "published_rows": "evalkit.quality.rows",
    "trust_table": "evalkit.quality.rows",
}

__all__ = [
    "QualityReport",
    "Signal",
    "assess_quality",
    "data_signals",
    "published_rows",
    "trust_table",
]

if TYPE_CHECKING:
    from evalkit.quality.assess import QualityReport, assess_quality
    from evalkit.quality.rows import data_signals, published_rows, trust_table
    from evalkit.quality.signal import Signal

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
