"""The data quality profile: missingness by group and period, duplicate units, failures by rule."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.contract import Validation, pilot_mask, post_mask


@dataclass(frozen=True)
class Profile:
    """What the validated data look like, for the report's data-trust section."""

    missing: pd.DataFrame  # one row a column: share missing overall ("all") and in each cell
    duplicate_units: int  # rows whose unit id repeats within the same period
    failures: pd.DataFrame  # column, rule, rows
    #: the same shape as ``missing``, holding how many rows are missing (NaN for an empty
    #: cell), so a report can say "fewer than 10" where a share would give a count away
    missing_counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: rows in each of ``missing``'s columns after the first ("all" and each cell)
    cell_rows: dict[str, int] = field(default_factory=dict)


def profile_data(validation: Validation) -> Profile:
    """Return the quality profile of a validated file."""
    card, frame = validation.card, validation.valid
    cells = _cells(validation)
    columns = [o.column for o in card.outcomes] + list(card.data.covariates)
    columns += [c for c in card.data.columns if c not in columns]
    rows, counts = [], []
    for column in columns:
        missing = frame[column].isna()
        row: dict[str, object] = {
            "column": column,
            "all": float(missing.mean()) if len(frame) else 0.0,
        }
        count: dict[str, object] = {"column": column, "all": int(missing.sum())}
        for name, mask in cells.items():
            row[name] = float(missing[mask].mean()) if mask.any() else np.nan
            count[name] = int(missing[mask].sum()) if mask.any() else np.nan
        rows.append(row)
        counts.append(count)
    missing_table = pd.DataFrame(rows)
    duplicates = 0
    if card.data.unit and len(frame):
        keys = [card.data.unit]
        if card.data.period is not None:
            keys.append(card.data.period.column)
        elif card.data.time is not None:
            keys.append(card.data.time.column)
        duplicates = int(frame.duplicated(subset=keys, keep=False).sum())
    return Profile(
        missing=missing_table,
        duplicate_units=duplicates,
        failures=validation.failure_summary(),
        missing_counts=pd.DataFrame(counts, columns=missing_table.columns),
        cell_rows={"all": len(frame), **{name: int(mask.sum()) for name, mask in cells.items()}},
    )


def cell_sizes(validation: Validation) -> dict[str, int]:
    """Return how many valid rows fall in each group x period cell."""
    return {name: int(mask.sum()) for name, mask in _cells(validation).items()}


def _cells(validation: Validation) -> dict[str, np.ndarray]:
    card, frame = validation.card, validation.valid
    if frame.empty:
        return {}
    has_period = card.data.period is not None or (
        card.data.time is not None and card.data.time.start is not None
    )
    after = post_mask(card, frame) if has_period else np.ones(len(frame), dtype=bool)
    if card.data.group is None:
        groups = {"": np.ones(len(frame), dtype=bool)}  # one group: name the periods only
    else:
        pilot = pilot_mask(card, frame)
        groups = {"pilot": pilot, "comparison": ~pilot}
    periods = {"before": ~after, "after": after} if has_period else {"all periods": after}
    return {
        (f"{group}, {period}" if group else period): g & p
        for group, g in groups.items()
        for period, p in periods.items()
        if (g & p).any()
    }
