"""Descriptive means by group and period, with intervals and small cells suppressed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.card import Outcome, PilotCard
from evalkit.contract import pilot_mask, post_mask


def cell_means(
    card: PilotCard, frame: pd.DataFrame, outcome: Outcome, published_n: int | None = None
) -> pd.DataFrame:
    """Return the outcome's mean, 95% CI and n for each group and period.

    Cells with fewer than the card's ``min_cell_count`` records are kept as
    rows with their mean and n blanked and ``suppressed`` set, so a published
    table never shows a small count. So are cells of a yes/no outcome with
    fewer than that many records with (or without) it, whose percentage and n
    would give the count away.

    Then secondary suppression. While just one cell is hidden, the smallest
    cell still shown is hidden too: with the finding's estimate and total
    published, one hidden cell's mean and n could be worked back, two cannot.
    And, given the finding's total n (published beside the table), while the
    counts shown add up to a small count more or less than that total, or one
    exceeds it by a small count, the smallest count still shown is withheld
    (``n_withheld``; its mean stays, since a mean of many records discloses no
    one).
    """
    rows = frame[frame[outcome.column].notna()]
    period = np.where(post_mask(card, rows), "after", "before")
    if card.data.group is not None:
        group = np.where(pilot_mask(card, rows), "pilot", "comparison")
    else:
        group = np.full(len(rows), "pilot")
    values = rows[outcome.column].astype("float64")
    grouped = values.groupby([group, period])
    table = grouped.agg(["mean", "std", "count", "sum"]).reset_index()
    table.columns = pd.Index(["group", "period", "mean", "sd", "n", "hits"])
    scale = 100.0 if outcome.type == "binary" else 1.0
    half = stats.t.ppf(0.975, np.maximum(table["n"] - 1, 1)) * table["sd"] / np.sqrt(table["n"])
    table["mean"] = table["mean"] * scale
    table["ci_low"] = table["mean"] - half * scale
    table["ci_high"] = table["mean"] + half * scale
    hidden = _hidden(table, card.min_cell_count, binary=outcome.type == "binary")
    withheld = _withheld(table, hidden, card.min_cell_count, published_n)
    table["suppressed"] = hidden
    table["n_withheld"] = withheld
    table.loc[hidden, ["mean", "ci_low", "ci_high"]] = np.nan
    table["n"] = table["n"].astype("float64").where(~withheld)
    table["period"] = pd.Categorical(table["period"], ["before", "after"], ordered=True)
    table = table.drop(columns=["sd", "hits"])
    return table.sort_values(["group", "period"]).reset_index(drop=True)


def _small(count: np.ndarray | float, threshold: int) -> np.ndarray:
    count = np.asarray(count, dtype="float64")
    return np.asarray((count > 0) & (count < threshold), dtype=bool)


def _hidden(table: pd.DataFrame, threshold: int, *, binary: bool) -> pd.Series:
    """Return which cells to hide whole: the small ones, and a second when only one is."""
    n = table["n"].to_numpy(dtype="float64")
    hidden = _small(n, threshold)
    if binary:
        hits = table["hits"].to_numpy(dtype="float64")
        hidden |= _small(hits, threshold) | _small(n - hits, threshold)
    if int(hidden.sum()) == 1 and (~hidden).any():
        hidden[int(np.argmin(np.where(hidden, np.inf, n)))] = True
    return pd.Series(hidden, index=table.index)


def _withheld(
    table: pd.DataFrame, hidden: pd.Series, threshold: int, published_n: int | None
) -> pd.Series:
    """Return which cells' counts to withhold: the hidden ones, and any differencing needs."""
    n = table["n"].to_numpy(dtype="float64")
    withheld = hidden.to_numpy(dtype=bool).copy()

    def gives_away(withheld: np.ndarray) -> bool:
        if published_n is None:
            return False
        shown = n[~withheld]
        # the counts shown add up to a small count more or less than the total (rows a model
        # left out), or one exceeds it by a small count (units a paired estimate left out)
        return bool(
            _small(abs(published_n - shown.sum()), threshold)
            or _small(shown - published_n, threshold).any()
        )

    while (~withheld).any() and gives_away(withheld):
        withheld[int(np.argmin(np.where(withheld, np.inf, n)))] = True
    return pd.Series(withheld, index=table.index)
