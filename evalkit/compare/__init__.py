"""Central comparison: every pilot's latest results and learning, side by side, never ranked.

``load_results`` reads each pilot's card, newest results.json and learning log;
pilots with no results, results older than their current cycle, or results
that cannot be read are listed with the reason, never dropped. ``pool_effects``
pools estimates of the same outcome on the same scale. Pilots are always ordered
by place name: there is no league table.
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from evalkit._version import __version__
from evalkit.card import DEFAULT_MIN_CELL_COUNT, PilotCard, load_pilot
from evalkit.card.folders import RESULTS_FILE, find_pilots, latest_report
from evalkit.compare.pool import Method, Pooled, pool_effects
from evalkit.errors import EvalkitError
from evalkit.estimate.finding import RATIO_SCALES, Finding
from evalkit.learning import LogEntry, current_entries, log_path, read_log
from evalkit.results import Results
from evalkit.results import load_results as load_one
from evalkit.timestamps import iso_stamp

__all__ = [
    "COMPARISON_SCHEMA_VERSION",
    "Comparison",
    "PilotStatus",
    "Pooled",
    "SharedOutcome",
    "build_comparison",
    "load_results",
    "pool_effects",
]

COMPARISON_SCHEMA_VERSION = 1
Status = Literal["current", "stale", "missing", "invalid"]


@dataclass(frozen=True)
class PilotStatus:
    """One registered pilot: what the centre knows of it, and why if nothing."""

    folder: Path
    id: str
    place: str
    team: str
    design: str
    cycle: int | None
    status: Status
    reason: str = ""
    min_cell_count: int = DEFAULT_MIN_CELL_COUNT
    results: Results | None = None
    entry: LogEntry | None = None  # the newest learning-log entry
    entries: tuple[LogEntry, ...] = ()

    @property
    def decided(self) -> LogEntry | None:
        """Return the newest entry with a decision: what the pilot last chose to do."""
        with_decision = [e for e in self.entries if e.decision]
        return with_decision[-1] if with_decision else None

    @property
    def local_template(self) -> str | None:
        """Return the name of the pilot's own report template its results came from, if any."""
        template = self.results.run.template if self.results else None
        return template.name if template is not None and template.local else None

    @property
    def evidence_level(self) -> int | None:
        """Return the results' evidence level, if there are results."""
        return self.results.evidence.level if self.results else None


@dataclass(frozen=True)
class PilotEstimate:
    """One pilot's estimate of a shared outcome."""

    pilot: str
    place: str
    evidence_level: int
    finding: Finding
    stale: bool


@dataclass(frozen=True)
class SharedOutcome:
    """Every pilot's estimate of one outcome on one scale, pooled when there are two or more."""

    outcome: str
    label: str
    scale: str
    unit: str
    better: str
    estimates: tuple[PilotEstimate, ...]
    pooled: Pooled | None


@dataclass(frozen=True)
class Comparison:
    """The whole central comparison: portfolio, shared outcomes, learning and blockers."""

    pilots: tuple[PilotStatus, ...]
    outcomes: tuple[SharedOutcome, ...]
    generated: str
    method: Method = "REML"
    warnings: tuple[str, ...] = field(default=())

    def blockers(self) -> dict[str, list[tuple[str, str]]]:
        """Return blockers escalated by pilots, grouped by who must act: the centre's to-do list."""
        grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for pilot in self.pilots:
            for entry in pilot.entries:
                for blocker in entry.blockers:
                    who = blocker.needs or "not said"
                    if (pilot.place, blocker.what) not in grouped[who]:
                        grouped[who].append((pilot.place, blocker.what))
        return dict(sorted(grouped.items()))

    def learning_by_outcome(self) -> dict[str, list[PilotStatus]]:
        """Return pilots grouped by each outcome they measure, for reading decisions together."""
        grouped: dict[str, list[PilotStatus]] = defaultdict(list)
        for pilot in self.pilots:
            if pilot.results is None:
                continue
            for finding in pilot.results.findings:
                grouped[finding.label].append(pilot)
        return dict(sorted(grouped.items()))

    def to_json(self) -> dict[str, Any]:
        """Return comparison.json's content: no record-level data, pilots in place order."""
        return {
            "schema_version": COMPARISON_SCHEMA_VERSION,
            "generated": self.generated,
            "evalkit_version": __version__,
            "method": self.method,
            "pilots": [
                {
                    "id": p.id,
                    "place": p.place,
                    "team": p.team,
                    "design": p.design,
                    "cycle": p.cycle,
                    "min_cell_count": p.min_cell_count,
                    "results_cycle": p.results.pilot.cycle if p.results else None,
                    "status": p.status,
                    "reason": p.reason,
                    "evidence_level": p.evidence_level,
                    # the report was made with the pilot's own adapted template (name), or not
                    "local_template": p.local_template,
                    "decision": p.decided.decision if p.decided else None,
                    "decision_cycle": p.decided.cycle if p.decided else None,
                    "changing": list(p.decided.next_changes) if p.decided else [],
                    # each costed outcome's sums as its results.json has them (no curve)
                    "value_for_money": [
                        v.model_dump(exclude={"acceptability"})
                        for v in (p.results.value_for_money if p.results else ())
                    ],
                }
                for p in self.pilots
            ],
            "outcomes": [
                {
                    "outcome": o.outcome,
                    "label": o.label,
                    "scale": o.scale,
                    "unit": o.unit,
                    "estimates": [
                        {
                            "pilot": e.pilot,
                            "place": e.place,
                            "evidence_level": e.evidence_level,
                            "estimate": e.finding.estimate,
                            "se": e.finding.se,
                            "ci_low": _finite_or_none(e.finding.ci_low),
                            "ci_high": _finite_or_none(e.finding.ci_high),
                            "p_value": e.finding.p_value,  # None when the pilot gave none
                            "n": e.finding.n,
                            "stale": e.stale,
                        }
                        for e in o.estimates
                    ],
                    "pooled": None if o.pooled is None else o.pooled.__dict__,
                }
                for o in self.outcomes
            ],
            "blockers": [
                {"needs": who, "place": place, "what": what}
                for who, items in self.blockers().items()
                for place, what in items
            ],
            "warnings": list(self.warnings),
        }


def _finite_or_none(value: float) -> float | None:
    """Return the number, or None for an interval end that is infinite (strict JSON)."""
    return value if math.isfinite(value) else None


def load_results(pilots_dir: Path | str) -> list[PilotStatus]:
    """Return every registered pilot (a folder with a card) with its latest results, by place."""
    pilots = [_load_pilot_status(folder) for folder in find_pilots(pilots_dir)]
    return sorted(pilots, key=lambda p: (p.place.casefold(), p.id))


def build_comparison(pilots_dir: Path | str, method: Method = "REML") -> Comparison:
    """Return the central comparison of every pilot under ``pilots_dir``."""
    pilots = load_results(pilots_dir)
    groups: dict[tuple[str, str], list[PilotEstimate]] = defaultdict(list)
    for pilot in pilots:
        if pilot.results is None:
            continue
        for finding in pilot.results.findings:
            groups[(finding.outcome, finding.scale)].append(
                PilotEstimate(
                    pilot=pilot.id,
                    place=pilot.place,
                    evidence_level=pilot.results.evidence.level,
                    finding=finding,
                    stale=pilot.status == "stale",
                )
            )
    outcomes = []
    for (outcome, scale), estimates in sorted(groups.items()):
        first = estimates[0].finding
        pooled = None
        # a place too few to bound its own interval cannot be weighed in a pool
        bounded = [e for e in estimates if e.finding.bounded]
        if len(bounded) >= 2:
            pooled = _pool(bounded, scale, method)
        outcomes.append(
            SharedOutcome(
                outcome=outcome,
                label=first.label,
                scale=scale,
                unit=first.unit,
                better=first.better,
                estimates=tuple(estimates),  # already in place order
                pooled=pooled,
            )
        )
    warnings = tuple(
        f"{p.id}: {p.status}: {p.reason}" for p in pilots if p.status in {"missing", "invalid"}
    )
    return Comparison(
        pilots=tuple(pilots),
        outcomes=tuple(outcomes),
        generated=iso_stamp(),
        method=method,
        warnings=warnings,
    )


def _honest_se(finding: Finding, se: float, *, log: bool = False) -> float:
    """Return the standard error to pool on: never narrower than the finding's own interval.

    A finding resting on few wards keeps its cluster-robust ``se``, but its
    interval comes from a bootstrap or randomisation and is wider; pooling on
    the bare ``se`` would give it more weight than its interval allows.
    """
    if finding.inference is None:
        return se
    low, high = finding.ci_low, finding.ci_high
    if log:
        low, high = math.log(low), math.log(high)
    return max(se, (high - low) / (2 * 1.959963984540054))


def _pool(estimates: list[PilotEstimate], scale: str, method: Method) -> Pooled:
    """Return the pooled estimate; ratios are pooled on the log scale and shown as ratios."""
    if scale not in RATIO_SCALES:
        return pool_effects(
            [e.finding.estimate for e in estimates],
            [_honest_se(e.finding, e.finding.se) for e in estimates],
            method,
        )
    logs, ses = [], []
    for e in estimates:
        log_estimate, log_se = e.finding.log_estimate, e.finding.log_se
        if log_estimate is None or log_se is None:
            # the delta method's SE of the log, when the finding did not carry it
            log_estimate, log_se = math.log(e.finding.estimate), e.finding.se / e.finding.estimate
        logs.append(log_estimate)
        ses.append(_honest_se(e.finding, log_se, log=True))
    pooled = pool_effects(logs, ses, method)

    def exp(value: float | None) -> float | None:
        return math.exp(value) if value is not None else None

    return replace(
        pooled,
        estimate=math.exp(pooled.estimate),
        ci_low=math.exp(pooled.ci_low),
        ci_high=math.exp(pooled.ci_high),
        wald_low=math.exp(pooled.wald_low),
        wald_high=math.exp(pooled.wald_high),
        pi_low=exp(pooled.pi_low),
        pi_high=exp(pooled.pi_high),
    )


def _load_pilot_status(folder: Path) -> PilotStatus:
    try:
        card = load_pilot(folder)
    except EvalkitError as exc:
        return PilotStatus(
            folder,
            folder.name,
            folder.name,
            "",
            "",
            None,
            "invalid",
            reason=f"the pilot card cannot be read: {exc.message}",
        )
    entries: tuple[LogEntry, ...] = ()
    with contextlib.suppress(EvalkitError):
        # a broken log does not hide the pilot's results; the pilot's own run reports it
        entries = tuple(sorted(current_entries(read_log(log_path(card))), key=lambda e: e.cycle))
    missing = PilotStatus(
        folder=folder,
        id=card.id,
        place=card.place,
        team=card.team,
        design=card.design,
        cycle=card.cycle,
        min_cell_count=card.min_cell_count,
        status="missing",
        reason="no results yet (the pilot has not been run)",
        entry=entries[-1] if entries else None,
        entries=entries,
    )
    path = _latest_results(card)
    if path is None:
        return missing
    try:
        results = load_one(path)
    except EvalkitError as exc:
        return replace(missing, status="invalid", reason=exc.render())
    if results.pilot.cycle < card.cycle:
        return replace(
            missing,
            status="stale",
            reason=f"latest results are from cycle {results.pilot.cycle}; the pilot is in "
            f"cycle {card.cycle}",
            results=results,
        )
    return replace(missing, status="current", reason="", results=results)


def _latest_results(card: PilotCard) -> Path | None:
    report = latest_report(card)
    return report / RESULTS_FILE if report is not None else None
