"""Integrity signals on validated data: questions for the local team, never penalties."""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalkit.contract import Validation, pilot_mask
from evalkit.quality.assess import QualityReport, assess_quality
from evalkit.quality.disclosure import describe_count, is_small, suppress_count
from evalkit.quality.signal import Level, Signal

#: Above these shares a signal becomes a question for the team.
REJECTED_QUESTION = 0.02
MISSING_QUESTION = 0.10

__all__ = ["QualityReport", "Signal", "assess_quality", "data_signals", "trust_table"]


def data_signals(validation: Validation) -> list[Signal]:
    """Return signals about rejected rows and missing outcomes in one validated file."""
    signals: list[Signal] = []
    share = validation.rejected_share
    rejected, threshold = len(validation.rejected), validation.card.min_cell_count
    if rejected:
        level: Level = "question" if share > REJECTED_QUESTION else "info"
        how_many = (
            f"{describe_count(rejected, threshold)} of {validation.rows_read:,} rows"
            if is_small(rejected, threshold)
            else f"{rejected:,} of {validation.rows_read:,} rows ({share:.1%})"
        )
        signals.append(
            Signal(
                kind="rejected-rows",
                level=level,
                message=f"{how_many} failed their checks and were left out. "
                "Are they a random slip, or a group the pilot is not recording well?",
                numbers={
                    "rejected": suppress_count(rejected, threshold),
                    "rows": validation.rows_read,
                },
            )
        )
    frame, card = validation.valid, validation.card
    for outcome in card.outcomes:
        missing = frame[outcome.column].isna()
        if not len(frame) or missing.mean() <= MISSING_QUESTION:
            continue
        by_group: dict[str, float] = {}
        if card.data.group is not None:
            in_pilot = pilot_mask(card, frame)
            by_group = {
                "pilot": float(missing[in_pilot].mean()),
                "comparison": float(missing[~in_pilot].mean()),
            }
        signals.append(
            Signal(
                kind="missing-outcome",
                level="question",
                message=f"{outcome.name} is missing for {missing.mean():.0%} of rows. "
                "Who are they, and could their outcomes differ from the rest?",
                numbers={"missing_share": round(float(missing.mean()), 4), **by_group},
            )
        )
    return signals


def trust_table(validation: Validation) -> pd.DataFrame:
    """Return, for each checked column, its roles, rule count and rows failing."""
    failing = validation.failures.groupby("column")["line"].nunique()
    return pd.DataFrame(
        {
            "column": [rule.column for rule in validation.rules],
            "used as": [", ".join(rule.roles) for rule in validation.rules],
            "expected": [_expected(rule) for rule in validation.rules],
            "rows failing": [int(failing.get(rule.column, 0)) for rule in validation.rules],
        }
    )


def _expected(rule: Any) -> str:
    parts = [
        {
            "str": "text",
            "float": "number",
            "int": "whole number",
            "bool": "yes/no",
            "date": "date",
            "time": "number or date",
        }[rule.type]
    ]
    if rule.required:
        parts.append("required")
    if rule.min is not None:
        parts.append(f">= {rule.min:g}")
    if rule.max is not None:
        parts.append(f"<= {rule.max:g}")
    if rule.allowed is not None:
        parts.append("one of " + ", ".join(rule.allowed))
    return "; ".join(parts)
