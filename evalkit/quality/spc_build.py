"""Each outcome's processes over time, read from the validated records: one chart per process.

A chart never mixes groups or phases. Pilot and comparison records (the
card's ``data.group``) are charted apart. Records before and after the
change (``data.period``, else ``data.time.start`` or each unit's
``start_column``, as :func:`evalkit.contract.post_mask` decides) never share
a point or a set of limits: when every "before" period comes ahead of every
"after" one, the chart has two limit sets with the change between them; when
they overlap in time (baseline and follow-up assessments of the same
families, or wards opening at different times) each phase gets its own chart.

Disclosure control: a period with fewer than ``card.min_cell_count`` records
in that process is not shown, and is counted as suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.card import PilotCard
from evalkit.card.model import Outcome
from evalkit.contract import as_key, pilot_mask, post_mask
from evalkit.quality.spc_process import ChartKind, ProcessChart, build_process

#: A chart needs this many periods before its limits mean much (Making Data Count: 12+).
MIN_SPC_PERIODS = 8


@dataclass(frozen=True)
class Reading:
    """How an outcome is charted: the kind of chart, the scale shown, and its denominator."""

    kind: ChartKind
    scale: float
    #: the column whose sum is the denominator, or None for the number of records
    denominator: str | None


def reading_of(card: PilotCard, outcome: Outcome) -> Reading:
    """Return which chart an outcome gets (see :mod:`evalkit.quality.spc_process` for why).

    A binary outcome: a p-chart in percent. A count: a u-chart, per 1,000 of
    ``data.population`` when the card names one, else per record. Anything
    else: an XmR chart of the mean.
    """
    if outcome.type == "binary":
        return Reading("p", 100.0, None)
    if outcome.type == "count":
        population = card.data.population
        return Reading("u", 1000.0, population) if population else Reading("u", 1.0, None)
    return Reading("xmr", 1.0, None)


def outcome_processes(
    card: PilotCard, frame: pd.DataFrame, outcome: Outcome
) -> tuple[list[ProcessChart], list[str]]:
    """Return an outcome's charts, one per process, and why any process could not be charted."""
    time = card.data.time
    if time is None or frame.empty:
        return [], []
    reading = reading_of(card, outcome)
    after = _after(card, frame)
    charts: list[ProcessChart] = []
    skipped: list[str] = []
    for group, in_group in _groups(card, frame):
        extra = [reading.denominator] if reading.denominator else []
        rows = frame.loc[in_group, [time.column, outcome.column, *extra]].copy()
        rows["_after"] = after[in_group] if after is not None else False
        rows = rows.dropna()
        tables = {
            phase: _period_table(part, time.column, outcome.column, reading.denominator)
            for phase, part in (("before", rows[~rows["_after"]]), ("after", rows[rows["_after"]]))
        }
        tables = {phase: table for phase, table in tables.items() if len(table)}
        if not tables:
            continue
        together = len(tables) == 1 or _in_order(tables["before"].index, tables["after"].index)
        plans: list[tuple[str | None, list[tuple[str, pd.DataFrame]]]]
        if after is None:
            plans = [(None, [("", tables["before"])])]
        elif together:
            plans = [(None, list(tables.items()))]
        else:
            plans = [(_phase_name(card, phase), [(phase, t)]) for phase, t in tables.items()]
        for phase_name, parts in plans:
            chart, why = _chart(card, outcome, reading, group, phase_name, parts)
            if chart is not None:
                charts.append(chart)
            else:
                skipped.append(why)
    return charts, skipped


def _chart(
    card: PilotCard,
    outcome: Outcome,
    reading: Reading,
    group: str | None,
    phase_name: str | None,
    parts: list[tuple[str, pd.DataFrame]],
) -> tuple[ProcessChart | None, str]:
    threshold = card.min_cell_count
    # a period is shown when its records are not few; a share (a p-chart point) also needs
    # neither those with it nor those without it to be few, or the point gives their count
    kept = [(phase, t[_shown(t, threshold, reading.kind == "p")]) for phase, t in parts]
    suppressed = sum(len(t) for _, t in parts) - sum(len(t) for _, t in kept)
    table = pd.concat([t.assign(phase=phase) for phase, t in kept])
    who = f"{group} group" if group else "everyone"
    process = f"{who}, {phase_name}" if phase_name else who
    if len(table) < MIN_SPC_PERIODS:
        return None, (
            f"chart over time of {outcome.name} ({process}): fewer than {MIN_SPC_PERIODS} "
            f"periods with {threshold}+ records"
        )
    chart = build_process(
        outcome.name,
        reading.kind,
        outcome.better,
        [_period_label(p) for p in table.index],
        table["sum"].to_list(),
        table["denominator"].to_list(),
        table["records"].to_list(),
        table["phase"].to_list(),
        scale=reading.scale,
        group=group,
        phase=phase_name,
        target=outcome.target.value if outcome.target else None,
        suppressed_periods=suppressed,
    )
    return chart, ""


def _shown(table: pd.DataFrame, threshold: int, share: bool) -> pd.Series:
    """Return which periods may be shown: enough records, and for a share enough each way."""
    enough = table["records"] >= threshold
    if share:
        enough &= (table["sum"] >= threshold) & (table["records"] - table["sum"] >= threshold)
    return enough


def _groups(card: PilotCard, frame: pd.DataFrame) -> list[tuple[str | None, np.ndarray]]:
    """Return each group's rows: pilot and comparison apart, or everyone when there is no group."""
    group = card.data.group
    if group is None:
        return [(None, np.ones(len(frame), dtype=bool))]
    in_pilot = pilot_mask(card, frame)
    comparison = ~in_pilot
    if group.comparison_values is not None:
        wanted = [as_key(v) for v in group.comparison_values]
        comparison = np.asarray(frame[group.column].isin(wanted), dtype=bool) & ~in_pilot
    return [("pilot", in_pilot), ("comparison", comparison)]


def _after(card: PilotCard, frame: pd.DataFrame) -> np.ndarray | None:
    """Return which rows are after the change, or None when the card names no change."""
    time = card.data.time
    has_change = card.data.period is not None or (
        time is not None and (time.start is not None or time.start_column is not None)
    )
    return post_mask(card, frame) if has_change else None


def _period_table(
    rows: pd.DataFrame, time_column: str, value_column: str, denominator: str | None
) -> pd.DataFrame:
    """Return, for each period in order, the outcome's sum, the records and the denominator."""
    time = rows[time_column]
    # dates are grouped by calendar month; anything else is a period label as it stands
    is_date = pd.api.types.is_datetime64_any_dtype(time.dtype)
    key = (time.dt.strftime("%Y-%m") if is_date else time).to_numpy()
    values = rows[value_column].astype(float)
    table = pd.DataFrame(
        {
            "sum": values.groupby(key, sort=True).sum(),
            "records": values.groupby(key, sort=True).count(),
        }
    )
    if denominator is None:
        table["denominator"] = table["records"].astype(float)
    else:
        table["denominator"] = rows[denominator].astype(float).groupby(key, sort=True).sum()
    return table


def _in_order(before: pd.Index, after: pd.Index) -> bool:
    """Return True when every period before the change comes ahead of every period after it."""
    return bool(before.max() < after.min())


def _phase_name(card: PilotCard, phase: str) -> str:
    """Return a phase as the card names it ("baseline", "follow-up"), else before/after."""
    period = card.data.period
    if period is not None:
        value = period.post if phase == "after" else period.pre
        if value is not None:
            return str(value)
    return "before the change" if phase == "before" else "after the change"


def _period_label(period: object) -> str:
    # A whole-number float (an int column that held a missing value) reads "3", not "3.0".
    if isinstance(period, float | np.floating) and float(period).is_integer():
        return str(int(period))
    return str(period)
