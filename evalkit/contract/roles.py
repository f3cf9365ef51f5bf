"""The roles estimators rely on: which rows are in the pilot, which are after the change."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.card import PilotCard
from evalkit.contract.parse import _to_date, as_key
from evalkit.errors import ConfigError


def pilot_mask(card: PilotCard, frame: pd.DataFrame) -> np.ndarray:
    """Return True for rows in the pilot arm (a value in ``data.group.pilot``)."""
    group = card.data.group
    if group is None:
        raise ConfigError(
            f"design '{card.design}' compares a pilot group, but the card names none",
            path=card.card_path,
            where="data.group",
            hint="add data.group with the column and value(s) that mark the pilot's rows",
        )
    wanted = [as_key(v) for v in group.pilot_values]
    return np.asarray(frame[group.column].isin(wanted), dtype=bool)


def post_mask(card: PilotCard, frame: pd.DataFrame) -> np.ndarray:
    """Return True for rows after the change.

    The change is ``data.period.post``, else ``time >= data.time.start``. With
    staggered starts (``data.time.start_column``) a pilot unit's rows are after
    the change from its own start; units never in the pilot are "after" from
    the first start, so before/after summaries compare like periods. With no
    period or time role at all (a randomised pilot measured once) every row is
    after the change.
    """
    if card.data.period is not None:
        return (frame[card.data.period.column] == as_key(card.data.period.post)).to_numpy()
    time = card.data.time
    if time is None:
        return np.ones(len(frame), dtype=bool)
    column = frame[time.column]
    if time.start is not None:
        return np.asarray(column >= _as_time(time.start, column), dtype=bool)
    if time.start_column is None:
        raise ConfigError(
            "the card says neither when the change started nor which rows are after it",
            path=card.card_path,
            where="data.time",
            hint="add start: (the first period of the change) or data.period",
        )
    starts = frame[time.start_column]
    if not starts.notna().any():
        return np.zeros(len(frame), dtype=bool)
    own = np.asarray(starts.notna() & (column >= starts), dtype=bool)
    never = np.asarray(starts.isna(), dtype=bool)
    first = starts.min()
    later: np.ndarray = own | (never & np.asarray(column >= first, dtype=bool))
    return later


def _as_time(value: Any, column: pd.Series) -> Any:
    """Return a card's time value comparable with the time column (a date or a number)."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return _to_date(pd.Series([as_key(value)])).iloc[0]
    return float(value)
