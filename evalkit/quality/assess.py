"""Every integrity check on one pilot's validated data, gathered for the report and results.

Each check is a question for the local team, never a penalty: attrition and
baseline equivalence (What Works Clearinghouse), bunching at target
thresholds, recording breaks, who is served against who is eligible, and an
XmR chart for each outcome over time. Checks that the data cannot support
(no time column, too few periods, no target) are skipped and listed with the
reason, so a reader knows what was not looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.card import PilotCard
from evalkit.contract import Validation, pilot_mask, post_mask, read_table
from evalkit.quality.attrition import Attrition, LostToFollowUp, attrition, lost_to_follow_up
from evalkit.quality.breaks import RecordingBreak, count_breaks, share_breaks
from evalkit.quality.bunching import Bunching, describe_bunching, detect_bunching
from evalkit.quality.equivalence import Equivalence, baseline_equivalence
from evalkit.quality.profile import Profile, profile_data
from evalkit.quality.served import Difference, compare_served
from evalkit.quality.signal import Level, Signal
from evalkit.quality.spc_build import MIN_SPC_PERIODS, outcome_processes
from evalkit.quality.spc_process import ProcessChart
from evalkit.quality.spc_words import signal_text

#: Bunching needs this many records around a target.
MIN_BUNCHING_RECORDS = 500
#: How far either side of a target the bunching window reaches, as a share of the target.
BUNCHING_REACH = 0.12


@dataclass(frozen=True)
class OverTime:
    """One outcome's charts over time: one for each process (group, and phase when apart)."""

    charts: tuple[ProcessChart, ...]


@dataclass(frozen=True)
class QualityReport:
    """The results of every integrity check, and the checks that could not be run."""

    profile: Profile
    attrition: Attrition | LostToFollowUp | None = None
    #: True when the design differences away a gap in starting levels: a baseline gap is
    #: then context for the report, not a flaw (see assess_quality)
    differences_baseline: bool = False
    equivalence: dict[str, Equivalence] = field(default_factory=dict)
    bunching: dict[str, Bunching] = field(default_factory=dict)
    breaks: tuple[RecordingBreak, ...] = ()
    served: tuple[Difference, ...] = ()
    over_time: dict[str, OverTime] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()

    def signals(self) -> list[Signal]:
        """Return one signal for each finding worth a question, in plain words with its numbers."""
        found: list[Signal] = []
        if isinstance(self.attrition, LostToFollowUp):
            found.append(
                Signal(
                    kind="attrition",
                    level="question" if self.attrition.overall > 20 else "info",
                    message=self.attrition.message,
                    numbers={"overall_percent": _shown(self.attrition.overall, self.attrition)},
                )
            )
        elif self.attrition is not None:
            rating = self.attrition.rating
            level: Level = "question" if rating.level == "high" else "info"
            found.append(
                Signal(
                    kind="attrition",
                    level=level,
                    message=self.attrition.message,
                    numbers={
                        "overall_percent": _shown(rating.overall, self.attrition),
                        "differential_points": _shown(rating.differential, self.attrition),
                        "boundary": rating.boundary,
                        "rating": rating.level,
                    },
                )
            )
        for name, eq in self.equivalence.items():
            if eq.level != "equivalent":
                # a design that differences away a gap in levels assumes the groups would
                # have moved in parallel, so the gap is context, not a flaw
                tolerant = self.differences_baseline
                level = "concern" if eq.level == "not equivalent" else "question"
                message = eq.message
                if tolerant:
                    # the WWC band's advice (adjust for it) is for designs that compare levels
                    far = eq.level == "not equivalent"
                    message = message.split(" By the WWC bands")[0] + (
                        " This design allows for a gap in starting levels; what it needs is "
                        "that the groups were on parallel paths"
                        + (", which a gap this large makes less likely." if far else ".")
                    )
                found.append(
                    Signal(
                        kind="baseline-equivalence",
                        level="info" if tolerant else level,
                        message=f"{name}: {message}",
                        numbers={"measure": eq.measure, "difference": round(eq.difference, 3)},
                    )
                )
        for name, result in self.bunching.items():
            if result.detected:
                lonely = result.placebo_detections == 0
                found.append(
                    Signal(
                        kind="bunching",
                        level="question" if lonely else "info",
                        message=describe_bunching(result, name),
                        numbers={
                            "excess_ratio": round(result.excess_ratio, 3),
                            "ci_low": round(result.ci_low, 3),
                            "ci_high": round(result.ci_high, 3),
                            "threshold": result.threshold,
                        },
                    )
                )
        for brk in self.breaks:
            found.append(
                Signal(
                    kind="recording-break",
                    level="question",
                    message=brk.message,
                    numbers={
                        "period": brk.period,
                        "before": None if "before" in brk.hidden else round(brk.before, 2),
                        "after": None if "after" in brk.hidden else round(brk.after, 2),
                        "category": brk.category,
                    },
                )
            )
        for difference in self.served:
            if difference.flagged:
                found.append(
                    Signal(
                        kind="who-is-served",
                        level="question",
                        message=difference.message,
                        numbers={
                            "column": difference.column,
                            "category": difference.category,
                            "difference": round(difference.difference, 3),
                        },
                    )
                )
        for name, over in self.over_time.items():
            # one line per measure: every special cause is summarised in the SPC table
            flagged = [chart for chart in over.charts if chart.causes]
            if flagged:
                found.append(
                    Signal(
                        kind="special-cause",
                        level="info",
                        message=f"{name}: {signal_text(flagged)}",
                        numbers={
                            "processes": [chart.process for chart in flagged],
                            "variation": [chart.variation for chart in flagged],
                            "causes": [len(chart.causes) for chart in flagged],
                        },
                    )
                )
        return found


def _why_not_compared(card: PilotCard) -> str:
    """Return why the pilot and comparison groups cannot be compared before the change."""
    if card.data.group is None:
        return "no comparison group"
    if card.data.time is not None and card.data.time.start_column:
        return "units start at different times, so there is no one 'before' to compare"
    return "the groups are measured once, after the change, with nothing before to compare"


def assess_quality(validation: Validation, *, differences_baseline: bool = False) -> QualityReport:
    """Return every integrity check that the pilot's card and data allow.

    ``differences_baseline`` is True when the pilot's design differences away a
    gap in starting levels (the design registry says which do): a baseline gap
    between the groups is then reported as context, not as a concern.
    """
    card, frame = validation.card, validation.valid
    skipped: list[str] = []
    threshold = card.min_cell_count
    result: dict[str, object] = {"profile": profile_data(validation)}

    has_groups = card.data.group is not None and not frame.empty
    has_period = card.data.period is not None or (
        card.data.time is not None and card.data.time.start is not None
    )
    if has_groups and has_period:
        in_pilot = pilot_mask(card, frame)
        after = post_mask(card, frame)
        outcome = card.outcomes[0].column
        has_outcome = frame[outcome].notna().to_numpy()
        rows = after  # units expected to have an outcome after the change
        result["attrition"] = attrition(
            frame[rows],
            in_pilot=in_pilot[rows],
            has_outcome=has_outcome[rows],
            boundary=card.quality.attrition_boundary,
            min_count=threshold,
        )
        equivalence = {}
        for o in card.outcomes:
            base = frame[~after]
            values = base[o.column].to_numpy(dtype="float64")
            pilot_values = values[in_pilot[~after]]
            comparison_values = values[~in_pilot[~after]]
            pilot_values = pilot_values[~np.isnan(pilot_values)]
            comparison_values = comparison_values[~np.isnan(comparison_values)]
            if min(len(pilot_values), len(comparison_values)) >= 2:
                equivalence[o.name] = baseline_equivalence(
                    pilot_values,
                    comparison_values,
                    binary=o.type == "binary",
                    min_count=threshold,
                )
        result["equivalence"] = equivalence
    elif card.data.unit and has_period and not frame.empty:
        lost = lost_to_follow_up(validation, card.data.unit)
        if lost is None:
            skipped.append(
                "attrition: no unit appears both before and after the change (successive "
                "groups, such as cases closed each month), so there is no one to lose to follow-up"
            )
        else:
            result["attrition"] = lost
    else:
        skipped.append(f"attrition and baseline equivalence: {_why_not_compared(card)}")

    bunching = {}
    for o in card.outcomes:
        if o.target is None or o.type == "binary":
            continue
        values = frame[o.column].dropna().to_numpy(dtype="float64")
        if card.data.group is not None and not frame.empty:
            values = frame.loc[pilot_mask(card, frame), o.column].dropna().to_numpy("float64")
        if len(values) < MIN_BUNCHING_RECORDS:
            skipped.append(
                f"bunching at the {o.name} target: fewer than {MIN_BUNCHING_RECORDS} pilot records"
            )
            continue
        try:
            bunching[o.name] = detect_bunching(
                values,
                o.target.value,
                o.better,
                window=_bunching_window(o.target.value),
                bootstrap=200,
            )
        except ValueError as exc:
            skipped.append(f"bunching at the {o.name} target: {exc}")
    result["bunching"] = bunching

    time = card.data.time
    if time is None:
        skipped.append(
            "charts over time and recording breaks: the card does not say which column holds "
            "each record's date"
        )
    else:
        over_time = {}
        for o in card.outcomes:
            charts, not_drawn = outcome_processes(card, frame, o)
            skipped += not_drawn
            if charts:
                over_time[o.name] = OverTime(tuple(charts))
        result["over_time"] = over_time
        result["breaks"] = _breaks(validation, time.column)

    if card.quality.eligible is not None:
        eligible_path = card.folder / card.quality.eligible
        eligible, _, _ = read_table(eligible_path)
        served = frame
        if card.data.group is not None and not frame.empty:
            served = frame[pilot_mask(card, frame)]
        shared = [c for c in eligible.columns if c in served.columns]
        result["served"] = compare_served(served[shared], eligible[shared], min_count=threshold)
    else:
        skipped.append(
            "who is served: no list of who is eligible for the pilot was given, so who it "
            "reaches cannot be compared with who it is for"
        )
    return QualityReport(
        skipped=tuple(skipped),
        differences_baseline=differences_baseline,
        **result,  # type: ignore[arg-type]
    )


def _shown(percent: float, attrition: Attrition | LostToFollowUp) -> float | None:
    """Return a rate for the signal's numbers, or None when it is not published."""
    return round(percent, 1) if attrition.shown else None


def _bunching_window(threshold: float) -> tuple[float, float] | None:
    """Return the region left out of the fit: a tenth of the target either side.

    Work timed to a target piles up over the last stretch before it (days or
    minutes, not one bin), and the missing mass sits the same distance past it.
    """
    reach = abs(threshold) * BUNCHING_REACH
    return (threshold - reach, threshold + reach) if reach >= 3 else None


def _breaks(validation: Validation, time_column: str) -> tuple[RecordingBreak, ...]:
    """Return the recording breaks in records per period and in the watched categories."""
    card, frame = validation.card, validation.valid
    labels = _labels(frame[time_column])
    counts = labels.value_counts().sort_index()
    if len(counts) < MIN_SPC_PERIODS:
        return ()
    found = list(
        count_breaks(
            [str(p) for p in counts.index],
            counts.to_list(),
            per="period",
            min_count=card.min_cell_count,
        )
    )
    for column in card.quality.categories:
        if column in frame.columns:
            found += share_breaks(
                labels.to_list(),
                frame[column].to_list(),
                column=column,
                min_count=card.min_cell_count,
            )
    return tuple(found)


def _labels(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        labels: pd.Series = column.dt.strftime("%Y-%m")
        return labels
    return column.map(lambda v: f"{v:g}" if isinstance(v, float) else str(v))
