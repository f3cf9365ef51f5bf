"""The rows read and their signals: rejected rows, missing outcomes, the trust table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from evalkit.contract import Validation, pilot_mask
from evalkit.quality.disclosure import (
    describe_count,
    describe_part,
    is_small,
    is_small_share,
    suppress_count,
)
from evalkit.quality.signal import Level, Signal

#: Above these shares a signal becomes a question for the team.
REJECTED_QUESTION = 0.02
MISSING_QUESTION = 0.10


def published_rows(validation: Validation, parts: Iterable[int] = ()) -> int | None:
    """Return how many rows were read, or None when publishing it would give a small count away.

    ``parts`` are the other counts of those rows that are published (each
    finding's n). The total is withheld when the rejected count is (rows
    minus valid rows would give it back), or when the total less a part, or
    less a part and the rejected rows, is a count below the threshold.
    """
    rows, threshold = validation.rows_read, validation.card.min_cell_count
    rejected = len(validation.rejected)
    if is_small(rejected, threshold):
        return None
    for n in parts:
        if is_small(rows - n, threshold) or is_small(rows - rejected - n, threshold):
            return None
    return rows


def data_signals(validation: Validation, parts: Iterable[int] = ()) -> list[Signal]:
    """Return signals about rejected rows and missing outcomes in one validated file.

    ``parts`` are the published counts of the rows (each finding's n), which
    decide whether the number of rows read can be given (:func:`published_rows`).
    """
    signals: list[Signal] = []
    share = validation.rejected_share
    rejected, threshold = len(validation.rejected), validation.card.min_cell_count
    rows = published_rows(validation, parts)
    if rejected:
        level: Level = "question" if share > REJECTED_QUESTION else "info"
        if is_small(rejected, threshold):
            how_many = f"{describe_count(rejected, threshold).capitalize()} rows"
        elif rows is None:
            # with the share, the rows read and so the rest could be worked back
            how_many = f"{rejected:,} rows"
        else:
            how_many = f"{rejected:,} of {rows:,} rows ({share:.1%})"
        signals.append(
            Signal(
                kind="rejected-rows",
                level=level,
                message=f"{how_many} failed their checks and were left out. "
                "Are they a random slip, or a group the pilot is not recording well?",
                numbers={"rejected": suppress_count(rejected, threshold), "rows": rows},
            )
        )
    frame, card = validation.valid, validation.card
    for outcome in card.outcomes:
        missing = frame[outcome.column].isna()
        if not len(frame) or missing.mean() <= MISSING_QUESTION:
            continue
        by_group: dict[str, float | None] = {}
        if card.data.group is not None:
            in_pilot = pilot_mask(card, frame)
            by_group = {
                name: _share(missing[mask], threshold)
                for name, mask in (("pilot", in_pilot), ("comparison", ~in_pilot))
            }
        part = describe_part(int(missing.sum()), len(frame), threshold)
        part += " of" if part.endswith("%") else ""  # "14% of rows", "fewer than 10 rows"
        signals.append(
            Signal(
                kind="missing-outcome",
                level="question",
                message=f"{outcome.name} is missing for {part} rows. "
                "Who are they, and could their outcomes differ from the rest?",
                numbers={"missing_share": _share(missing, threshold, digits=4), **by_group},
            )
        )
    return signals


def _share(missing: pd.Series, threshold: int, digits: int | None = None) -> float | None:
    """Return the share missing, or None when it would give a small count away."""
    if is_small_share(int(missing.sum()), len(missing), threshold):
        return None
    share = float(missing.mean())
    return share if digits is None else round(share, digits)


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
    if rule.reads_as == "binary":
        return "yes/no (1/0, Yes/No, Y/N or True/False)" + ("; required" if rule.required else "")
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
