"""Reading a pilot's data for planning: sample sizes by group and period, spread, clusters.

The formulas live in :mod:`evalkit.estimate.power`; this module turns a
validated frame into their arguments. The card's design is read only through
the layout its registry entry plans it as (``plan_as``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.contract import pilot_mask, post_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import outcome_rows
from evalkit.estimate._power_layout import Counts
from evalkit.estimate.its import period_numbers
from evalkit.estimate.power import Mde, minimum_detectable_effect
from evalkit.estimate.pre_post import PAIRED_SHARE
from evalkit.estimate.registry import PlanLayout, design_of
from evalkit.estimate.wording import format_number


@dataclass(frozen=True)
class _Sample:
    """What the data say about one outcome's sample, in minimum_detectable_effect's terms."""

    n_pilot: Counts
    n_comparison: Counts | None
    sd: float
    baseline: float
    notes: tuple[str, ...]
    baseline_records: int | None = None  # records the baseline rate is read from
    sd_change: float | None = None
    periods: tuple[int, int] | None = None
    clusters: int | None = None
    icc: float | None = None
    cluster_size: float | None = None
    pilot_clusters: int | None = None
    per_unit: bool = False  # the sizes count units seen in both periods, not records


def plan_layout(card: PilotCard) -> PlanLayout:
    """Return the layout the card's design is planned as; EstimationError if it has none."""
    design = design_of(card)
    if design.plan_as is None:
        raise EstimationError(
            f"a {card.design} pilot cannot be planned yet: evalkit has no sample-size "
            "arithmetic for this design",
            path=card.card_path,
            where="design",
            hint="run the pilot (evalkit run) and read how wide its intervals are; "
            "planning covers before/after, difference-in-differences, time series, "
            "randomised pilots and synthetic comparisons",
        )
    return design.plan_as


def plan_outcome(card: PilotCard, frame: pd.DataFrame, outcome: Outcome, layout: PlanLayout) -> Mde:
    """Return one outcome's MDE, sized as ``layout``, with sizes, spread and clusters from data."""
    if layout == "synthetic":  # rehearses its placebo test on the places' figures
        from evalkit.estimate._power_synthetic import plan_synthetic

        return plan_synthetic(card, frame, outcome)
    rows = outcome_rows(frame, outcome)
    y = rows[outcome.column].to_numpy(dtype="float64")
    # a before/after design does not use a group column even when the data have one
    grouped = card.data.group is not None and layout != "pre_post"
    pilot = pilot_mask(card, rows) if grouped else None
    after = _after_mask(card, rows)
    if layout == "its":
        sample = _read_series(card, rows, outcome, y, pilot, after)
    else:
        sample = _read_groups(card, rows, outcome, y, pilot, after, layout)
    spread_given = outcome.type != "binary" or layout == "its"
    try:
        return minimum_detectable_effect(
            design=layout,
            n_pilot=sample.n_pilot,
            n_comparison=sample.n_comparison,
            sd=sample.sd if spread_given else None,
            sd_change=sample.sd_change,
            periods=sample.periods,
            baseline_rate=sample.baseline if outcome.type != "continuous" else None,
            clusters=sample.clusters,
            pilot_clusters=sample.pilot_clusters,
            icc=sample.icc,
            cluster_size=sample.cluster_size,
            power=card.plan.power,
            alpha=card.plan.alpha,
            outcome_type=outcome.type,
            better=outcome.better,
            outcome=outcome.measure_id,
            label=outcome.name,
            unit=outcome.unit,
            noun=_noun(card, rows, after, sample.per_unit),
            hoped_change=outcome.hoped_change,
            notes=sample.notes,
            min_count=card.min_cell_count,
            baseline_records=sample.baseline_records,
        )
    except ValueError as exc:  # too few records or clusters, no spread
        raise _error(card, outcome, f"cannot be planned: {exc}") from None


def _read_groups(
    card: PilotCard,
    rows: pd.DataFrame,
    outcome: Outcome,
    y: np.ndarray,
    pilot: np.ndarray | None,
    after: np.ndarray | None,
    layout: PlanLayout,
) -> _Sample:
    """Return the sizes by group and period, the spread and the clusters of a comparison."""
    if after is not None and after.all():
        raise _error(card, outcome, "has no records before the change to plan from")
    if pilot is not None and (pilot.all() or not pilot.any()):
        raise _error(card, outcome, "needs records in both the pilot and comparison groups")
    arm = pilot if pilot is not None else np.zeros(len(y), dtype=bool)
    base = ~after if after is not None else ~arm
    where = "the before period" if after is not None else "the comparison group"
    sd, baseline = _pooled_sd(y[base], arm[base]), float(y[base].mean())
    notes = [f"Spread (sd {format_number(sd)}{_unit(outcome)}) taken from {where}"]
    if outcome.type != "continuous":
        notes = [f"Baseline taken from {where}"]
    if outcome.type == "binary" and not 0 < baseline < 1:
        raise _error(card, outcome, f"is {baseline:.0%} in {where}: there is no spread to plan on")
    if after is not None and not after.any():
        notes.append("No records after the change yet: the after period is taken to be as large")
    if card.data.covariates:
        notes.append(
            f"Adjusting for {', '.join(card.data.covariates)} usually makes the real MDE "
            "somewhat smaller; that is not counted here"
        )
    changes = _unit_changes(card, rows, outcome, after, layout)
    if changes is not None:
        change, unit_arm, keys = changes
        sd_change = _pooled_sd(change, unit_arm)
        notes.append(f"Spread of each unit's before/after change: sd {format_number(sd_change)}")
        grouped = pilot is not None
        n_pilot: Counts = int(unit_arm.sum()) if grouped else len(change)
        n_comparison: Counts | None = int((~unit_arm).sum()) if grouped else None
        sizes = pd.Series(keys).value_counts() if keys is not None else None
        clusters = _cluster_terms(card, keys, sizes, change, unit_arm, notes)
        return _Sample(
            n_pilot,
            n_comparison,
            sd,
            baseline,
            (*notes,),
            int(base.sum()),
            sd_change,
            **clusters,
            per_unit=True,
        )
    used = np.ones(len(y), dtype=bool)
    if layout == "rct" and after is not None and after.any():
        used = after  # a randomised pilot is compared after the change
        notes.append("The groups are compared after the change")
    n_pilot, n_comparison = _cell_sizes(layout, arm[used], after, used)
    clusters = {}
    if card.data.cluster:
        keys = rows[card.data.cluster].to_numpy()
        period = after if after is not None else np.zeros(len(y), dtype=bool)
        cells = [keys[used], arm[used], period[used]]
        sizes = pd.Series(period[used]).groupby(cells).size()
        # the ICC from the before period (or comparison group), free of the pilot's effect
        clusters = _cluster_terms(card, keys[base], sizes, y[base], arm[base], notes)
    return _Sample(n_pilot, n_comparison, sd, baseline, (*notes,), int(base.sum()), **clusters)


def _cluster_terms(
    card: PilotCard,
    keys: np.ndarray | None,
    sizes: pd.Series | None,
    values: np.ndarray,
    arm: np.ndarray,
    notes: list[str],
) -> dict[str, Any]:
    """Return the clusters, ICC (the card's, or estimated) and mean cluster size, if clustered."""
    if keys is None or sizes is None:
        return {}
    icc = card.plan.icc
    if icc is None:
        icc = _anova_icc(values, keys, arm)
        notes.append(
            f"ICC {icc:.2g} estimated from the data (rough with few clusters; "
            "plan.icc in pilot.yaml sets a known value)"
        )
    else:
        notes.append(f"ICC {icc:g} assumed (plan.icc in pilot.yaml)")
    clusters = int(sizes.index.get_level_values(0).nunique())
    in_pilot = pd.Series(arm).groupby(keys).agg(["min", "max"])
    whole = bool((in_pilot["min"] == in_pilot["max"]).all())
    return {
        "clusters": clusters,
        "icc": icc,
        "cluster_size": float(sizes.mean()),
        # clusters wholly in the pilot, when the pilot is given to whole clusters
        "pilot_clusters": int(in_pilot["max"].sum()) if whole and arm.any() else None,
    }


def _read_series(
    card: PilotCard,
    rows: pd.DataFrame,
    outcome: Outcome,
    y: np.ndarray,
    pilot: np.ndarray | None,
    after: np.ndarray | None,
) -> _Sample:
    """Return the time points before and after and the spread around the before-period trend."""
    if after is None or card.data.time is None:
        raise _error(card, outcome, "needs data.time with a start to plan a time series")
    keep = pilot if pilot is not None else np.ones(len(y), dtype=bool)
    when = period_numbers(rows[card.data.time.column])[keep]  # months for dates, as the ITS
    later = pd.Series(after[keep]).groupby(when).max().to_numpy()
    before = pd.Series(y[keep]).groupby(when).mean().to_numpy()[~later]
    n_before, n_after = len(before), int(later.sum())
    if n_before < 3:
        raise _error(card, outcome, "needs at least 3 time points before the change")
    notes = [
        "The level change at the start, from a segmented regression on each time point's "
        "mean, points equally spaced, no autocorrelation (which would make the MDE larger)"
    ]
    if n_after == 0:
        n_after = n_before
        notes.append("No time points after the change yet: as many as before are taken")
    if pilot is not None:
        notes.append("The pilot's own series only; the comparison series is not counted")
    index = np.arange(n_before)
    residual = before - np.polyval(np.polyfit(index, before, 1), index)
    sd = float(np.sqrt((residual**2).sum() / max(n_before - 2, 1)))
    if not sd > 0 or (outcome.type != "continuous" and before.mean() <= 0):
        raise _error(card, outcome, "does not vary around its trend before the change")
    shown = (
        f"{format_number(100 * sd)} percentage points"
        if outcome.type == "binary"
        else (f"{format_number(sd)}{_unit(outcome)}")
    )
    notes.append(f"Spread around the before-period trend: sd {shown}")
    n = int(keep.sum())
    return _Sample(n, None, sd, float(before.mean()), (*notes,), periods=(n_before, n_after))


def _after_mask(card: PilotCard, rows: pd.DataFrame) -> np.ndarray | None:
    """Return True for rows after the change; with staggered starts, each unit's own."""
    time = card.data.time
    if card.data.period is not None or (time is not None and time.start is not None):
        return post_mask(card, rows)
    if time is None or time.start_column is None:
        return None
    start = rows[time.start_column]
    # units never in the pilot count as "after" from the first start
    return np.asarray(rows[time.column] >= start.fillna(start.min()), dtype=bool)


def _cell_sizes(
    layout: PlanLayout, pilot: np.ndarray, after: np.ndarray | None, used: np.ndarray
) -> tuple[Counts, Counts | None]:
    """Return the records by group (and period), the after period as large as before if empty."""
    period = after[used] if after is not None else None

    def split(mask: np.ndarray) -> Counts:
        if period is None or layout == "rct":
            return int(mask.sum())
        before, later = int((mask & ~period).sum()), int((mask & period).sum())
        return (before, later or before)

    if layout == "pre_post":
        return split(np.ones(len(pilot), dtype=bool)), None
    return split(pilot), split(~pilot)


def _unit_changes(
    card: PilotCard,
    rows: pd.DataFrame,
    outcome: Outcome,
    after: np.ndarray | None,
    layout: PlanLayout,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """Return the before/after change, arm and cluster of units seen in both periods."""
    unit = card.data.unit
    if unit is None or after is None or layout not in {"pre_post", "did"}:
        return None
    units = rows[unit].to_numpy()
    both = np.intersect1d(units[after], units[~after])
    # the rule the before/after estimator pairs units by
    if both.size < 3 or both.size < PAIRED_SHARE * pd.unique(units).size:
        return None
    values = rows[outcome.column].astype("float64")
    means = values.groupby([units, after]).mean().unstack().loc[both]
    change = (means[True] - means[False]).to_numpy(dtype="float64")
    first = rows.assign(_unit=units).drop_duplicates("_unit").set_index("_unit").loc[both]
    arm = pilot_mask(card, first) if card.data.group is not None else np.zeros(both.size, bool)
    cluster = first[card.data.cluster].to_numpy() if card.data.cluster else None
    return change, arm, cluster


def _pooled_sd(values: np.ndarray, arm: np.ndarray) -> float:
    """Return the standard deviation within the two groups, pooled."""
    residual = values.astype("float64").copy()
    groups = 0
    for side in (True, False):
        if (arm == side).any():
            residual[arm == side] -= residual[arm == side].mean()
            groups += 1
    dof = len(values) - groups
    return float(np.sqrt((residual**2).sum() / dof)) if dof > 0 else math.nan


def _anova_icc(values: np.ndarray, clusters: np.ndarray, arm: np.ndarray) -> float:
    """Return the one-way ANOVA estimate of the ICC (clusters within arms), at least 0."""
    frame = pd.DataFrame({"y": values, "cluster": clusters, "arm": arm})
    frame["y"] -= frame.groupby("arm")["y"].transform("mean")  # arm gaps are not clustering
    groups = frame.groupby(["arm", "cluster"], observed=True)["y"]
    sizes, means = groups.size().to_numpy(float), groups.mean().to_numpy(float)
    k, total, arms = len(sizes), float(sizes.sum()), int(frame["arm"].nunique())
    if k - arms < 1 or total - k < 1:
        return 0.0
    between = float((sizes * means**2).sum()) / (k - arms)
    within = float(((frame["y"] - groups.transform("mean")) ** 2).sum()) / (total - k)
    size0 = (total - float((sizes**2).sum()) / total) / (k - 1)
    denominator = between + (size0 - 1) * within
    return float(min(max((between - within) / denominator, 0.0), 1.0)) if denominator else 0.0


def _noun(card: PilotCard, rows: pd.DataFrame, after: np.ndarray | None, per_unit: bool) -> str:
    """Return what the sizes count: the unit in the plural if they count units, else records."""
    unit = card.data.unit
    period = after if after is not None else np.zeros(len(rows), dtype=bool)
    if unit is None:
        return "records"
    if not per_unit and pd.DataFrame({"u": rows[unit].to_numpy(), "p": period}).duplicated().any():
        return "records"
    word = re.sub(r"[\s_-]*(id|ref|number|no)$", "", unit.strip(), flags=re.IGNORECASE)
    word = word.replace("_", " ").strip().lower() or "unit"
    irregular = {"person": "people", "child": "children", "man": "men", "woman": "women"}
    if word in irregular:
        return irregular[word]
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + ("es" if re.search(r"(s|x|ch|sh)$", word) else "s")


def _unit(outcome: Outcome) -> str:
    return f" {outcome.unit}" if outcome.unit else ""


def _error(card: PilotCard, outcome: Outcome, message: str) -> EstimationError:
    return EstimationError(
        f"'{outcome.column}' {message}",
        path=card.card_path,
        where="outcomes",
        hint="planning reads sizes and spread from the data: check that it covers the "
        "groups and periods the design needs",
    )
