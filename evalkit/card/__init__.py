"""The pilot card: ``pilot.yaml`` loaded into a frozen, typed model.

A card says what a pilot is, what it measures and how its data are laid out.
It is owned by the pilot: local columns and their checks are declared here,
never in central code. Every mistake in a card is reported at once, each with
its key path (``outcomes[1].better``), the line in the file, what was found,
what is allowed and, for a misspelt key, the nearest valid one. A card is read
as plain YAML only (no tags, anchors or aliases, at most 1 MB), so reading any
file named pilot.yaml takes a moment and little memory.

The rooms: :mod:`evalkit.card.model` (the model), :mod:`evalkit.card.load`
(``load_pilot`` and the card's diagnostics), :mod:`evalkit.card.reader` (the
safe YAML reader and each key's line).
"""

from __future__ import annotations

from evalkit.card.load import load_pilot
from evalkit.card.model import (
    CARD_FILE,
    DEFAULT_MIN_CELL_COUNT,
    ColumnType,
    CostsSpec,
    DataSpec,
    GroupRole,
    LearningQuestion,
    LocalColumn,
    Outcome,
    OutcomeType,
    PeriodRole,
    PilotCard,
    PlanSpec,
    QualitySpec,
    ReportSpec,
    Scalar,
    Target,
    TheoryOfChange,
    TimeRole,
)
from evalkit.card.reader import MAX_CARD_BYTES, MAX_CARD_DEPTH

__all__ = [
    "CARD_FILE",
    "DEFAULT_MIN_CELL_COUNT",
    "MAX_CARD_BYTES",
    "MAX_CARD_DEPTH",
    "ColumnType",
    "CostsSpec",
    "DataSpec",
    "GroupRole",
    "LearningQuestion",
    "LocalColumn",
    "Outcome",
    "OutcomeType",
    "PeriodRole",
    "PilotCard",
    "PlanSpec",
    "QualitySpec",
    "ReportSpec",
    "Scalar",
    "Target",
    "TheoryOfChange",
    "TimeRole",
    "load_pilot",
]
