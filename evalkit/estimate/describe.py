"""Descriptive means by group and period, with intervals and small cells suppressed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.card import Outcome, PilotCard
from evalkit.contract import pilot_mask, post_mask


def cell_means(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> pd.DataFrame:
    """Return the outcome's mean, 95% CI and n for each group and period.

    Cells with fewer than the card's ``min_cell_count`` records are kept as
    rows with their mean and n blanked and ``suppressed`` set, so a published
    table never shows a small count.
    """
    rows = frame[frame[outcome.column].notna()]
    period = np.where(post_mask(card, rows), "after", "before")
    if card.data.group is not None:
        group = np.where(pilot_mask(card, rows), "pilot", "comparison")
    else:
        group = np.full(len(rows), "pilot")
    values = rows[outcome.column].astype("float64")
    grouped = values.groupby([group, period])
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    table.columns = pd.Index(["group", "period", "mean", "sd", "n"])
    scale = 100.0 if outcome.type == "binary" else 1.0
    half = stats.t.ppf(0.975, np.maximum(table["n"] - 1, 1)) * table["sd"] / np.sqrt(table["n"])
    table["mean"] = table["mean"] * scale
    table["ci_low"] = table["mean"] - half * scale
    table["ci_high"] = table["mean"] + half * scale
    table["suppressed"] = table["n"] < card.min_cell_count
    hidden = table["suppressed"]
    table.loc[hidden, ["mean", "ci_low", "ci_high"]] = np.nan
    table["n"] = table["n"].astype("float64").where(~hidden)
    table["period"] = pd.Categorical(table["period"], ["before", "after"], ordered=True)
    return table.drop(columns="sd").sort_values(["group", "period"]).reset_index(drop=True)
