"""An outcome read as one value a period, the series an interrupted time series is fitted to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.contract import as_key, pilot_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import outcome_rows

#: At least this many periods on each side (Cochrane EPOC criteria for an ITS study).
MIN_PERIODS_EACH_SIDE = 3


@dataclass(frozen=True)
class Series:
    """An outcome as one value per period: what the segmented regression is fitted to."""

    labels: tuple[str, ...]
    time: np.ndarray  # periods since the first (months for dates)
    value: np.ndarray  # mean per period (pilot, or pilot minus comparison)
    rows: np.ndarray  # records behind each value: one column a group (pilot, comparison)
    sampling_var: np.ndarray  # variance of each value as a mean of its records
    totals: np.ndarray | None  # pilot's sum and count per period, for the ratio models
    after: np.ndarray
    start_time: float
    start_label: str
    season: np.ndarray | None
    covariates: np.ndarray
    per: str
    controlled: bool
    dropped: int  # periods seen in only one group (controlled ITS)


def period_numbers(column: pd.Series) -> np.ndarray:
    """Return each record's period: a calendar month number for dates, else the value itself."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        months = column.dt.to_period("M")
        numbers: np.ndarray = (months.dt.year * 12 + months.dt.month).to_numpy(dtype="float64")
        return numbers
    return column.to_numpy(dtype="float64")


def period_series(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Series:
    """Return the outcome as one mean per period (pilot minus comparison when there are groups)."""
    time_role = card.data.time
    if time_role is None or time_role.start is None:
        raise EstimationError(
            "an interrupted time series needs data.time with `start`",
            path=card.card_path,
            where="data.time",
            hint="add start: with the first period of the change, e.g. start: 2025-04",
        )
    rows = outcome_rows(frame, outcome)
    column = rows[time_role.column]
    index = period_numbers(column)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        try:
            start_month = pd.Timestamp(as_key(time_role.start)).to_period("M")
        except ValueError:
            raise start_error(card, time_role.start, "a date such as 2025-04") from None
        start = float(start_month.year * 12 + start_month.month)
        per = "month"

        def label(value: float) -> str:
            year, month = divmod(int(value) - 1, 12)
            return f"{year:04d}-{month + 1:02d}"

    else:
        try:
            start = float(time_role.start)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise start_error(card, time_role.start, "a number like the time column's") from None
        per = "period"

        def label(value: float) -> str:
            return as_key(value)

    columns = [outcome.column, *card.data.covariates]
    values = rows[columns].astype("float64").assign(_period=index)
    if card.data.group is None:
        pilot, comparison = values, None
    else:
        in_pilot = pilot_mask(card, rows)
        pilot, comparison = values[in_pilot], values[~in_pilot]
    means = pilot.groupby("_period")[columns].mean()
    counts = pilot.groupby("_period")[outcome.column].agg(["sum", "count"])
    group_rows = counts[["count"]]
    sampling_var = sampling_variance(pilot, outcome.column)
    dropped = 0
    if comparison is not None:
        other = comparison.groupby("_period")[columns].mean()
        other_counts = comparison.groupby("_period")[outcome.column].count()
        shared = means.index.intersection(other.index)
        dropped = len(means.index.union(other.index)) - len(shared)
        means = means.loc[shared] - other.loc[shared]
        group_rows = pd.concat([counts["count"], other_counts], axis=1).loc[shared]
        sampling_var = (sampling_var + sampling_variance(comparison, outcome.column)).loc[shared]
    periods = means.index.to_numpy(dtype="float64")
    time = periods - periods[0] if len(periods) else periods
    season = season_columns(time_role.seasonality, periods, per)
    return Series(
        labels=tuple(label(p) for p in periods),
        time=time,
        value=means[outcome.column].to_numpy(dtype="float64"),
        rows=group_rows.to_numpy(dtype="float64"),
        sampling_var=sampling_var.to_numpy(dtype="float64"),
        totals=None if comparison is not None else counts.to_numpy(dtype="float64"),
        after=periods >= start,
        start_time=(start - periods[0]) if len(periods) else 0.0,
        start_label=label(start),
        season=season,
        covariates=means[list(card.data.covariates)].to_numpy(dtype="float64"),
        per=per,
        controlled=comparison is not None,
        dropped=dropped,
    )


def sampling_variance(values: pd.DataFrame, column: str) -> pd.Series:
    """Return each period's variance of the mean of its records (pooled where one record)."""
    grouped = values.groupby("_period")[column]
    count = grouped.count()
    variance = grouped.var(ddof=1)
    several = count > 1
    if not several.any():
        return pd.Series(0.0, index=count.index)  # one record a period: no sampling error
    pooled = float(((count[several] - 1) * variance[several]).sum() / (count[several] - 1).sum())
    variance = variance.where(several, pooled).fillna(pooled)
    result: pd.Series = variance / count
    return result


def season_columns(seasonality: str, periods: np.ndarray, per: str) -> np.ndarray | None:
    if seasonality == "none" or not len(periods):
        return None
    if per == "month":
        month: np.ndarray = (periods.astype(int) - 1) % 12
        return month if seasonality == "month" else month // 3
    # a numeric time column counts periods: seasons repeat every 12 (or 4) of them
    position: np.ndarray = (periods - periods[0]).astype(int)
    return position % (12 if seasonality == "month" else 4)


def start_error(card: PilotCard, start: object, expected: str) -> EstimationError:
    return EstimationError(
        f"data.time.start {start!r} does not match the time column",
        path=card.card_path,
        where="data.time.start",
        hint=f"give the start as {expected}",
    )
