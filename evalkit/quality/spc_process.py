"""One process over time as NHS Making Data Count charts it: limits, icons and their meaning.

A process is one group (pilot or comparison, or everyone) over time. Its
limits come from the periods before the change and are recalculated from the
periods after it, so the after points are judged against how the process runs
now, and the two limit sets are compared ("mean before -> after"). Special
causes are found within each limit set, as NHSRplotthedots does (its
``ptd_calculate_point_type`` groups the rules by rebase group).

Three kinds of chart (Montgomery, *Introduction to Statistical Quality
Control*, 7th edition, Wiley 2013, chapters 6 and 7):

- ``xmr``: individuals and moving range, for a mean per period (see
  :mod:`evalkit.quality.spc`);
- ``p``: a share (binary outcome) per period, limits from each period's own
  record count: p ± 3·sqrt(p(1−p)/n_i) (Montgomery section 7.2.2, variable
  sample size);
- ``u``: a count per record, or per 1,000 of a population column, limits from
  each period's own denominator: u ± 3·sqrt(u/n_i) (Montgomery section 7.3.3).

A binary outcome always gets a p-chart: its share in a period of 12 records
is far noisier than in one of 200, which XmR limits of one width cannot say.
When the points vary more than the binomial or Poisson model allows
(overdispersion, common with large denominators), the limits are widened by
Laney's sigma-z, the moving-range spread of the points' z-scores (Laney, D. B.,
"Improved control charts for attributes", *Quality Engineering* 14(4),
531-537, 2002; Making Data Count recommends Laney's p' and u' charts for
this). They are never narrowed: sigma-z below 1 leaves the limits as they are.

Icons follow Making Data Count and NHSRplotthedots exactly:

- a point's type: the first rule it is part of, in the order outside the
  limits, trend, two of three near a limit, shift (``ptd_special_cause_type``),
  gives its direction; up is an improvement when higher is better, a concern
  when lower is (``ptd_point_type``);
- the variation icon is the type of the latest point (``ptd_get_icons``): so a
  process whose latest point is common cause shows "common cause", even if it
  had special causes earlier (they are still summarised in the table);
- the assurance icon compares the target with the latest limits
  (``ptd_calculate_assurance_type``): where higher is better, a target below
  the lower limit is "consistently passes", above the upper limit
  "consistently fails", between them "hit and miss"; the other way round where
  lower is better. Targets are context, never a pass/fail judgement of the team.

The special-cause rules themselves are those of :mod:`evalkit.quality.spc`.
Two differences from NHSRplotthedots, kept on purpose and tested there: a
trend is 6 points (Making Data Count 2019; NHSRplotthedots uses 7), and
two-of-three asks only that the two near points be on one side, not all three.

Limits from fewer than 15 points are trial limits (Making Data Count: limits
are best from 15 to 20 points; NHSRplotthedots warns below 13) and are said to be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from evalkit.quality.spc import D2, LIMIT_FACTOR, NEAR_LIMIT_SHARE, SpecialCause, special_causes

ChartKind = Literal["xmr", "p", "u"]
Better = Literal["higher", "lower"]
PointType = Literal["common cause", "improvement", "concern"]

#: Limits from fewer points than this are trial limits (Making Data Count: 15 to 20).
TRIAL_POINTS = 15
#: Rules in the order a point takes its type (NHSRplotthedots ``ptd_special_cause_type``).
RULE_PRIORITY = ("outside-limits", "trend", "two-of-three", "shift")

CHART_NAMES: dict[ChartKind, str] = {
    "xmr": "individuals (XmR) chart",
    "p": "p-chart (share, limits from each period's records)",
    "u": "u-chart (rate, limits from each period's denominator)",
}


@dataclass(frozen=True)
class Segment:
    """One set of limits: the periods it covers, its centre line and a limit for each point.

    ``start`` and ``end`` are positions in the chart (both included).
    ``basis`` is how many points the limits were calculated from (0 when they
    were carried over from the other set because this one had too few).
    """

    label: str
    start: int
    end: int
    centre: float
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    basis: int
    #: Laney's sigma-z widening (1.0 when the limits were not widened)
    laney: float = 1.0

    @property
    def trial(self) -> bool:
        """Return True when the limits rest on fewer than TRIAL_POINTS points of their own."""
        return 0 < self.basis < TRIAL_POINTS


@dataclass(frozen=True)
class ProcessChart:
    """One measure for one group over time, with its limit sets and special causes."""

    measure: str
    #: "pilot", "comparison", or None when the pilot has no comparison group
    group: str | None
    #: set when the chart holds one phase only (baseline and follow-up overlap in time)
    phase: str | None
    kind: ChartKind
    better: Better
    periods: tuple[str, ...]
    values: tuple[float, ...]
    #: records behind each point
    counts: tuple[int, ...]
    #: the phase each point comes from ("before", "after", or "" when there is no change)
    phases: tuple[str, ...]
    segments: tuple[Segment, ...]
    causes: tuple[SpecialCause, ...]
    target: float | None = None
    suppressed_periods: int = 0

    @property
    def process(self) -> str:
        """Return which process this is, in words: "pilot group", "everyone, baseline", ..."""
        who = f"{self.group} group" if self.group else "everyone"
        return f"{who}, {self.phase}" if self.phase else who

    @property
    def lower(self) -> tuple[float, ...]:
        """Return the lower process limit at each point."""
        return tuple(v for s in self.segments for v in s.lower)

    @property
    def upper(self) -> tuple[float, ...]:
        """Return the upper process limit at each point."""
        return tuple(v for s in self.segments for v in s.upper)

    @property
    def centre(self) -> tuple[float, ...]:
        """Return the centre line (mean) at each point."""
        return tuple(s.centre for s in self.segments for _ in range(s.start, s.end + 1))

    @property
    def change_at(self) -> str | None:
        """Return the first period after the change, when the limits are recalculated there."""
        return self.periods[self.segments[1].start] if len(self.segments) > 1 else None

    @property
    def trial(self) -> bool:
        """Return True when any limit set is a trial one (fewer than TRIAL_POINTS points)."""
        return any(s.trial for s in self.segments)

    def points_in(self, cause: SpecialCause) -> tuple[int, ...]:
        """Return the positions of a cause's points (for two-of-three, the near points only)."""
        span = range(cause.start, cause.end + 1)
        if cause.rule != "two-of-three":
            return tuple(span)
        values, centre = np.asarray(self.values), np.asarray(self.centre)
        if cause.direction == "up":
            near = values > centre + NEAR_LIMIT_SHARE * (np.asarray(self.upper) - centre)
        else:
            near = values < centre - NEAR_LIMIT_SHARE * (centre - np.asarray(self.lower))
        return tuple(i for i in span if near[i])

    def point_types(self) -> tuple[PointType, ...]:
        """Return each point's type: common cause, improvement or concern (MDC colours)."""
        found: list[list[SpecialCause]] = [[] for _ in self.values]
        for cause in self.causes:
            for i in self.points_in(cause):
                found[i].append(cause)
        types: list[PointType] = []
        for causes in found:
            first = min(causes, key=lambda c: RULE_PRIORITY.index(c.rule), default=None)
            types.append("common cause" if first is None else self._type_of(first))
        return tuple(types)

    def _type_of(self, cause: SpecialCause) -> PointType:
        improving = (cause.direction == "up") == (self.better == "higher")
        return "improvement" if improving else "concern"

    @property
    def variation(self) -> str:
        """Return the Making Data Count variation icon, in words, from the latest point."""
        latest = self.point_types()[-1]
        if latest == "common cause":
            return "common cause"
        side = self._latest_side()
        return f"special cause – {latest} ({side})"

    def _latest_side(self) -> str:
        last = len(self.values) - 1
        causes = [c for c in self.causes if last in self.points_in(c)]
        first = min(causes, key=lambda c: RULE_PRIORITY.index(c.rule))
        return "higher" if first.direction == "up" else "lower"

    @property
    def assurance(self) -> str | None:
        """Return the Making Data Count assurance icon in words, or None with no target."""
        return assurance(self.target, self.lower[-1], self.upper[-1], self.better)


def assurance(target: float | None, lower: float, upper: float, better: Better) -> str | None:
    """Return whether the latest limits consistently pass, fail or straddle a target.

    ``ptd_calculate_assurance_type`` in NHSRplotthedots: a target above the
    upper limit is failed every time where higher is better, passed every
    time where lower is better; below the lower limit the other way round;
    inside the limits, hit and miss.
    """
    if target is None:
        return None
    if target > upper:
        return "consistently fails" if better == "higher" else "consistently passes"
    if target < lower:
        return "consistently passes" if better == "higher" else "consistently fails"
    return "hit and miss"


def xmr_limits(values: Sequence[float]) -> tuple[float, float, float]:
    """Return the mean and the XmR process limits (mean ± 2.66 × mean moving range)."""
    array = np.asarray(values, dtype=float)
    mean = float(np.mean(array))
    spread = LIMIT_FACTOR * float(np.mean(np.abs(np.diff(array))))
    return mean, mean - spread, mean + spread


def attribute_limits(
    numerators: npt.ArrayLike,
    denominators: npt.ArrayLike,
    kind: Literal["p", "u"],
    *,
    centre: float | None = None,
    laney: bool = True,
    factor: float | None = None,
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Return a p- or u-chart's centre, its limits for each point, and Laney's widening.

    The centre is the pooled rate, sum of numerators over sum of denominators
    (unless given). Limits are centre ± 3·sigma_i with sigma_i =
    sqrt(p(1−p)/n_i) for a p-chart and sqrt(u/n_i) for a u-chart
    (Montgomery 7.2.2, 7.3.3), cut at 0 (and at 1 for a share). With
    ``laney`` each sigma_i is multiplied by sigma-z, the mean moving range of
    the z-scores (x_i/n_i − centre)/sigma_i divided by 1.128, when that is
    above 1 (Laney 2002); ``factor`` gives that widening instead of working it out.
    """
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    rate = x / n
    c = float(x.sum() / n.sum()) if centre is None else centre
    variance = c * (1 - c) if kind == "p" else c
    sigma = np.sqrt(variance / n)
    if factor is None:
        factor = 1.0
        if laney and len(rate) >= 2 and variance > 0:
            z = (rate - c) / sigma
            factor = max(1.0, float(np.mean(np.abs(np.diff(z)))) / D2)
    lower = np.maximum(c - 3 * sigma * factor, 0.0)
    upper = c + 3 * sigma * factor
    if kind == "p":
        upper = np.minimum(upper, 1.0)
    return c, lower, upper, factor


def build_process(
    measure: str,
    kind: ChartKind,
    better: Better,
    periods: Sequence[str],
    numerators: Sequence[float],
    denominators: Sequence[float],
    counts: Sequence[int],
    phases: Sequence[str],
    *,
    scale: float = 1.0,
    group: str | None = None,
    phase: str | None = None,
    target: float | None = None,
    suppressed_periods: int = 0,
) -> ProcessChart:
    """Return one process's chart: limit sets before and after the change, and special causes.

    ``numerators`` / ``denominators`` give each point: for XmR the sum and
    the number of records (the point is their mean), for a p- or u-chart the
    events and the records (or population). ``scale`` turns a rate into what is
    shown: 100 for a percentage, 1,000 for a rate per 1,000. ``phases`` says
    which phase each point is in; points must come in phase order (every
    "before" point ahead of every "after" point), and each run of one phase
    gets its own limits. A run of fewer than 2 points cannot have limits of its
    own and is judged against the neighbouring run's (its ``basis`` is then 0).
    """
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    values = x / n * scale
    runs = _phase_runs(list(phases))
    own = [end - start + 1 >= 2 for start, end, _ in runs]
    if not any(own):
        raise ValueError("A process chart needs at least 2 periods in one phase.")
    segments: list[Segment] = []
    causes: list[SpecialCause] = []
    labels = [str(p) for p in periods]
    for i, (start, end, name) in enumerate(runs):
        source = i if own[i] else (i - 1 if i > 0 and own[i - 1] else i + 1)
        s0, s1, _ = runs[source]
        part = slice(start, end + 1)
        basis = slice(s0, s1 + 1)
        if kind == "xmr":
            centre, low, high = xmr_limits(values[basis])
            lower = np.full(end - start + 1, low)
            upper = np.full(end - start + 1, high)
            factor = 1.0
        else:
            # a run too short for limits of its own takes the neighbour's centre and widening
            c, _, _, factor = attribute_limits(x[basis], n[basis], kind)
            _, lower, upper, _ = attribute_limits(x[part], n[part], kind, centre=c, factor=factor)
            centre, lower, upper = c * scale, lower * scale, upper * scale
        segments.append(
            Segment(
                label=_segment_label(name, len(runs)),
                start=start,
                end=end,
                centre=float(centre),
                lower=tuple(float(v) for v in lower),
                upper=tuple(float(v) for v in upper),
                basis=(s1 - s0 + 1) if source == i else 0,
                laney=factor,
            )
        )
        found = special_causes(values[part], float(centre), lower, upper, labels[part])
        causes += [_moved(cause, start) for cause in found]
    return ProcessChart(
        measure=measure,
        group=group,
        phase=phase,
        kind=kind,
        better=better,
        periods=tuple(labels),
        values=tuple(float(v) for v in values),
        counts=tuple(int(c) for c in counts),
        phases=tuple(phases),
        segments=tuple(segments),
        causes=tuple(causes),
        target=target,
        suppressed_periods=suppressed_periods,
    )


def _phase_runs(phases: list[str]) -> list[tuple[int, int, str]]:
    """Return (start, end, phase) for each run of one phase; phases must not come back."""
    runs: list[tuple[int, int, str]] = []
    for i, name in enumerate(phases):
        if runs and runs[-1][2] == name:
            runs[-1] = (runs[-1][0], i, name)
        elif any(r[2] == name for r in runs):
            raise ValueError(f"The points of phase '{name}' are not all together.")
        else:
            runs.append((i, i, name))
    return runs


def _segment_label(phase: str, runs: int) -> str:
    if runs == 1 or not phase:
        return "all periods"
    return "before the change" if phase == "before" else "after the change"


def _moved(cause: SpecialCause, offset: int) -> SpecialCause:
    return SpecialCause(
        cause.rule, cause.start + offset, cause.end + offset, cause.direction, cause.message
    )
