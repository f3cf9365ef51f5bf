"""One outcome of a synthetic comparison laid out as places by periods, read from the rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.contract import as_key, pilot_mask, post_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import outcome_rows
from evalkit.estimate.inference import names_people, plural_of


@dataclass(frozen=True)
class Places:
    """One outcome laid out as places by periods, with who is the pilot and who may compare."""

    Y: np.ndarray  # (N, T), proportions for a yes/no outcome
    names: tuple[str, ...]
    periods: tuple[str, ...]
    pilot: np.ndarray  # indices into names
    donors: np.ndarray
    pre: int
    records: int
    notes: tuple[str, ...]
    word: str  # what several places are called ("councils")


def _error(card: PilotCard, message: str, where: str, hint: str) -> EstimationError:
    return EstimationError(message, path=card.card_path, where=where, hint=hint)


def read_places(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Places:
    """Return the outcome as a place-by-period matrix; EstimationError when it cannot be one."""
    data, time = card.data, card.data.time
    if data.unit is None or time is None or data.group is None:
        raise _error(
            card,
            "a synthetic comparison needs the place (data.unit), the period (data.time) "
            "and the pilot place (data.group)",
            "data",
            "add unit: <place column>, time: {column: ..., start: ...} and group: "
            "{column: <place column>, pilot: <pilot place>}",
        )
    if names_people(data.unit):
        raise _error(
            card,
            f"a synthetic comparison compares places, but data.unit '{data.unit}' looks like "
            "it names people or cases; its charts would publish each one's figures",
            "data.unit",
            "name the place column (council, ward, practice) as data.unit, or choose "
            "another design",
        )
    if time.start is None:
        raise _error(
            card,
            "a synthetic comparison needs one start for the pilot (data.time.start); "
            "staggered starts (start_column) are not supported",
            "data.time",
            "set start: to the first period of the change, or use design: did for a roll-out",
        )
    rows = outcome_rows(frame, outcome)
    value = rows[outcome.column].to_numpy(dtype="float64")
    if outcome.type == "count" and data.population:
        weight = rows[data.population].to_numpy(dtype="float64")
    else:
        weight = np.ones(len(rows))
    cells = pd.DataFrame(
        {
            "place": rows[data.unit].map(as_key).to_numpy(),
            "period": rows[time.column].to_numpy(),
            "value": value,
            "weight": weight,
            "after": post_mask(card, rows),
            "pilot": pilot_mask(card, rows),
        }
    )
    sums = cells.groupby(["place", "period"], sort=True)[["value", "weight"]].sum()
    if outcome.type == "count" and data.population:
        sums = sums[sums["weight"] > 0]
        level = 1000.0 * sums["value"] / sums["weight"]
    else:
        level = sums["value"] / cells.groupby(["place", "period"], sort=True).size()
    table = level.unstack("period")
    periods = list(table.columns)
    labels = tuple(
        as_key(pd.Timestamp(p) if isinstance(p, np.datetime64 | pd.Timestamp) else p)
        for p in periods
    )
    after = cells.groupby("period")["after"].any().reindex(periods).to_numpy()
    pre = int(np.argmax(after)) if after.any() else len(periods)
    if pre == len(periods) or not after[pre:].all():
        raise _error(
            card,
            f"no '{outcome.column}' figure is on or after the start ({time.start})"
            if pre == len(periods)
            else f"the periods of '{outcome.column}' are not all before then all after the start",
            "data.time.start",
            "check data.time.start against the periods in the data",
        )
    if pre < 2:
        raise _error(
            card,
            f"only {pre} period(s) of '{outcome.column}' before the change; a synthetic "
            "comparison learns from the places' paths before it and needs at least 2 (8 or "
            "more are advised)",
            "data.time.start",
            "add earlier periods to the data",
        )
    is_pilot = cells.groupby("place")["pilot"].any().reindex(table.index).to_numpy()
    if not is_pilot.any():
        pilots = ", ".join(as_key(v) for v in data.group.pilot_values)
        raise _error(
            card,
            f"no pilot place ({pilots}) has a '{outcome.column}' figure: every pilot row "
            "leaves it blank",
            "outcomes",
            f"add the pilot's '{outcome.column}' figures to the data, or leave the outcome "
            "out of pilot.yaml",
        )
    complete = table.notna().all(axis=1).to_numpy()
    names = tuple(str(n) for n in table.index)
    gaps = [names[i] for i in np.flatnonzero(is_pilot & ~complete)]
    if gaps:
        missing = table.columns[table.iloc[names.index(gaps[0])].isna().to_numpy()]
        raise _error(
            card,
            f"the pilot place '{gaps[0]}' has no '{outcome.column}' figure for "
            f"{', '.join(as_key(m) for m in missing[:6])}"
            + (f" and {len(missing) - 6} more period(s)" if len(missing) > 6 else ""),
            f"data ({data.unit} = {gaps[0]})",
            "a synthetic comparison needs the pilot's figure in every period: fill the gap "
            "in the data, or leave the incomplete periods out of the file",
        )
    notes = tuple(
        f"{name} was left out of the comparison for {outcome.name}: it has no figure for "
        f"{int(table.iloc[i].isna().sum())} of the {len(periods)} periods."
        for i, name in enumerate(names)
        if not is_pilot[i] and not complete[i]
    )
    comparison = data.group.comparison_values
    if comparison is not None:
        # the comparison values are the group column's, which need not be the place column
        listed = rows[data.group.column].map(as_key).isin([as_key(v) for v in comparison])
        cells["listed"] = listed.to_numpy()
        allowed = cells.groupby("place")["listed"].any().reindex(table.index).to_numpy()
    else:
        allowed = np.ones(len(names), dtype=bool)
    donors = np.flatnonzero(~is_pilot & complete & allowed)
    n_pilot = int(is_pilot.sum())
    if donors.size < max(2, n_pilot + 1):
        raise _error(
            card,
            f"only {donors.size} comparison place(s) have '{outcome.column}' in every "
            f"period, for {n_pilot} pilot place(s); a synthetic comparison needs more "
            "comparison places than pilot places, and many (20 or more for a 95% interval)",
            "data",
            "add other places' figures for the same periods",
        )
    # only the pilot and the places that may compare are laid out: a gap is never summed
    kept = np.flatnonzero(is_pilot | (complete & allowed))
    position = {place: row for row, place in enumerate(kept)}
    return Places(
        Y=table.to_numpy(dtype="float64")[kept],
        names=tuple(names[i] for i in kept),
        periods=labels,
        pilot=np.array([position[i] for i in np.flatnonzero(is_pilot)], dtype=np.int64),
        donors=np.array([position[i] for i in donors], dtype=np.int64),
        pre=pre,
        records=len(rows),
        notes=notes,
        word=plural_of(data.unit),
    )


def unit_of(card: PilotCard, outcome: Outcome) -> str:
    """Return what the outcome's figures are measured in, as the report names it.

    A count read per 1,000 of the population says so, unless the card's unit does.
    """
    if outcome.type == "binary":
        return "percentage points"
    if outcome.type == "count" and card.data.population:
        per = f"per 1,000 {card.data.population.replace('_', ' ')}"
        if not outcome.unit:
            return per
        return outcome.unit if "1,000" in outcome.unit else f"{outcome.unit} {per}"
    return outcome.unit
