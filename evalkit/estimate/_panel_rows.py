"""A panel's rows (a unit's value each period, or repeated cross-sections) and its event study."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.contract import as_key, pilot_mask, post_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import covariate_matrix, outcome_rows
from evalkit.estimate._ols import Coefficient


@dataclass(frozen=True)
class EventPoint:
    """The estimated effect in one period relative to the start, with its 95% interval."""

    relative_period: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class EventStudy:
    """Effects by period relative to the start, and the joint test of the pre-start ones.

    ``pretrend_p`` is None when there is only the reference period before the
    start, so nothing can be tested.
    """

    points: tuple[EventPoint, ...]
    reference: int
    pre_periods: int
    pretrend_p: float | None
    pretrend_test: str
    staggered: bool
    method: str
    scale: str = "difference"

    def rows(self) -> list[dict[str, float]]:
        """Return the points as plain records (for results.json)."""
        return [
            {
                "relative_period": p.relative_period,
                "estimate": p.estimate,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
            }
            for p in self.points
        ]

    def to_frame(self) -> pd.DataFrame:
        """Return the points as a table, with whether each is before the start or the reference."""
        frame = pd.DataFrame([p.__dict__ for p in self.points])
        frame["when"] = np.where(frame["relative_period"] < 0, "before", "after")
        frame["reference"] = frame["relative_period"] == self.reference
        return frame


@dataclass(frozen=True)
class PanelRows:
    """One outcome's records laid out for panel estimation (codes, not labels)."""

    y: np.ndarray
    period: np.ndarray  # position among the distinct times
    start: np.ndarray  # position of the row's first period in the pilot; inf if never
    fixed: tuple[np.ndarray, np.ndarray]  # (unit or group codes, period)
    unit: np.ndarray | None
    clusters: np.ndarray | None
    covariates: np.ndarray
    labels: tuple[str, ...]
    unit_words: str
    cluster_name: str

    @property
    def staggered(self) -> bool:
        """Return True when pilot units start in different periods."""
        return np.unique(self.start[np.isfinite(self.start)]).size > 1


def read_panel(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> PanelRows:
    """Return the outcome's records as codes: period positions, starts, fixed effects, clusters."""
    time = card.data.time
    if time is None:
        raise panel_error(
            card,
            f"'{outcome.column}' cannot be read as a panel: the card names no data.time",
            "data",
            "add time: {column: ..., start: ...} saying which column holds the period",
        )
    rows = outcome_rows(frame, outcome)
    times = rows[time.column].to_numpy()
    distinct = np.unique(times)
    period = np.searchsorted(distinct, times)
    labels = tuple(as_key(pd.Timestamp(v) if isinstance(v, np.datetime64) else v) for v in distinct)
    start = np.full(len(rows), np.inf)
    if time.start_column:
        column = rows[time.start_column]
        given = column.notna().to_numpy()
        values = column.to_numpy()[given]
        if np.issubdtype(distinct.dtype, np.datetime64) != np.issubdtype(
            values.dtype, np.datetime64
        ):
            raise panel_error(
                card,
                f"'{time.start_column}' and '{time.column}' are not the same kind "
                "of time (one holds dates, the other numbers)",
                "data.time.start_column",
                "write start periods the same way as the time column",
            )
        start[given] = np.searchsorted(distinct, values.astype(distinct.dtype))
    else:
        after = post_mask(card, rows)
        if not after.any():
            raise panel_error(
                card,
                f"no '{outcome.column}' record is on or after the start ({time.start})",
                "data.time.start",
                "check data.time.start against the periods in the data",
            )
        start[pilot_mask(card, rows)] = period[after].min()
    start[start >= distinct.size] = np.inf  # starting after the data ends: not in the pilot yet
    unit = pd.factorize(rows[card.data.unit])[0] if card.data.unit else None
    group = unit if unit is not None else np.isfinite(start).astype(np.int64)
    cluster_name = card.data.cluster or card.data.unit or ""
    clusters = pd.factorize(rows[cluster_name])[0] if cluster_name else None
    return PanelRows(
        y=rows[outcome.column].to_numpy(dtype="float64"),
        period=period,
        start=start,
        fixed=(group, period),
        unit=unit,
        clusters=clusters,
        covariates=covariate_matrix(card, rows),
        labels=labels,
        unit_words=card.data.unit or "pilot/comparison group",
        cluster_name=cluster_name,
    )


def unit_period_means(rows: PanelRows, unit: np.ndarray) -> tuple[PanelRows, bool]:
    """Return the rows with one record per unit and period (the mean), and whether any merged.

    A roll-out by ward with many households a month is followed ward by ward;
    the households' mean is the ward's value that month.
    """
    cell = unit.astype(np.int64) * len(rows.labels) + rows.period
    keys, first, inverse = np.unique(cell, return_index=True, return_inverse=True)
    if keys.size == cell.size:
        return rows, False
    sizes = np.bincount(inverse).astype("float64")
    mean = np.bincount(inverse, weights=rows.y) / sizes
    clusters = rows.clusters[first] if rows.clusters is not None else None
    unit, period = unit[first], rows.period[first]
    return (
        replace(
            rows,
            y=mean,
            period=period,
            start=rows.start[first],
            fixed=(unit, period),
            unit=unit,
            clusters=clusters,
            covariates=rows.covariates[first],
        ),
        True,
    )


def event_point(relative: int, coefficient: Coefficient, outcome: Outcome) -> EventPoint:
    """Return an event-study point on the finding's scale (percentage points for binary)."""
    factor = 100.0 if outcome.type == "binary" else 1.0
    return EventPoint(
        int(relative),
        coefficient.estimate * factor,
        coefficient.se * factor,
        coefficient.ci_low * factor,
        coefficient.ci_high * factor,
    )


def event_study_from(
    points: list[EventPoint],
    *,
    reference: int,
    pre_periods: int,
    pretrend_p: float | None,
    test: str,
    staggered: bool,
    method: str,
    outcome: Outcome,
) -> EventStudy:
    """Return the event study with the reference period shown at zero."""
    shown = sorted(
        [*points, EventPoint(reference, 0.0, 0.0, 0.0, 0.0)], key=lambda p: p.relative_period
    )
    return EventStudy(
        points=tuple(shown),
        reference=reference,
        pre_periods=pre_periods,
        pretrend_p=pretrend_p,
        pretrend_test=test,
        staggered=staggered,
        method=f"event study: {method}",
        scale="percentage points" if outcome.type == "binary" else "difference",
    )


def panel_error(card: PilotCard, message: str, where: str, hint: str) -> EstimationError:
    return EstimationError(message, path=card.card_path, where=where, hint=hint)
