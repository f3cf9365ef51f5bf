"""One pilot analysed in-process: validate, estimate, rate, signal, and write the results.

This is what the report template calls, so a template stays a view: the
numbers it shows are the numbers results.json holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit._version import __version__
from evalkit.card import PilotCard, load_pilot
from evalkit.contract import Validation, pilot_mask, post_mask, validate_data
from evalkit.contract.voice import VoiceItem, load_voice
from evalkit.errors import EstimationError
from evalkit.estimate.describe import cell_means
from evalkit.estimate.effects import estimate_outcomes
from evalkit.estimate.evidence import Evidence, rate_evidence
from evalkit.estimate.finding import Finding
from evalkit.estimate.power import Mde, plan_pilot
from evalkit.estimate.registry import design_of
from evalkit.estimate.value import value_for_money
from evalkit.hashing import Fingerprint, hash_file
from evalkit.learning import (
    LOG_FILE,
    LogEntry,
    current_entries,
    log_path,
    preview_draft,
    read_log,
    record_draft,
)
from evalkit.quality import QualityReport, Signal, assess_quality, data_signals, published_rows
from evalkit.quality.attrition import Attrition
from evalkit.quality.disclosure import pilot_salt, pseudonymise, suppress_count
from evalkit.results import (
    RESULTS_FILE,
    DataInfo,
    PilotInfo,
    Results,
    RunInfo,
    RunInputs,
    TargetContext,
    ValueForMoney,
    write_results,
)
from evalkit.safe_csv import write_csv
from evalkit.timestamps import iso_stamp

REJECTED_FILE = "rejected_rows.csv"


@dataclass(frozen=True)
class Analysis:
    """A pilot's validated data, findings, evidence rating and signals, ready to show."""

    card: PilotCard
    validation: Validation
    findings: tuple[Finding, ...]
    evidence: Evidence
    signals: tuple[Signal, ...]
    cells: dict[str, pd.DataFrame]
    #: each outcome's design figure data (an ITS counterfactual, an event study), by column
    figures: dict[str, object]
    #: each outcome's smallest detectable change, when the card hopes for one and the design
    #: can be planned (empty otherwise)
    plan: tuple[Mde, ...]
    voice: tuple[VoiceItem, ...]
    quality: QualityReport
    started: str
    #: each costed outcome's value for money (empty when the card gives no costs)
    value: tuple[ValueForMoney, ...] = ()

    def learning(self) -> tuple[LogEntry, list[LogEntry]]:
        """Return this cycle's log entry as this run drafts it, and every current entry.

        The draft is made once: ``write`` records the very entry shown here (and
        the results it was drafted from), not a second draft with its own id and time.
        """
        entries = current_entries(read_log(log_path(self.card)))
        if "_drafted" not in self.__dict__:  # a memo on a frozen value, not one of its fields
            results = self.results()
            drafted = (results, preview_draft(self.card, results, self.voice, entries))
            object.__setattr__(self, "_drafted", drafted)
        entry = self.__dict__["_drafted"][1]
        others = [e for e in entries if e.id != entry.id]
        return entry, sorted([*others, entry], key=lambda e: e.cycle)

    def results(
        self, parameters: dict[str, Any] | None = None, inputs: RunInputs | None = None
    ) -> Results:
        """Return the results.json model for this analysis (``inputs``: what it was made from)."""
        card = self.card
        return Results(
            pilot=PilotInfo(
                id=card.id, name=card.name, place=card.place, team=card.team, cycle=card.cycle
            ),
            design=card.design,
            evidence=self.evidence,
            data=DataInfo(
                rows=self.published_rows(),
                rejected_rows=suppress_count(len(self.validation.rejected), card.min_cell_count),
                sha256=self.validation.sha256,
                file=card.data.path,
            ),
            findings=self.findings,
            signals=self.signals,
            targets=self.targets(),
            value_for_money=self.value,
            run=RunInfo(
                evalkit_version=__version__,
                started=self.started,
                finished=iso_stamp(),
                parameters=parameters or {},
                inputs=inputs,
            ),
        )

    def published_rows(self) -> int | None:
        """Return the rows read as they may be published: None when they would give a count away.

        A report states the rows read only when this is not None: beside the
        findings' n and the rejected rows, the total would otherwise let a small
        count be worked out (rows - n).
        """
        return published_rows(self.validation, [f.n for f in self.findings])

    def targets(self) -> tuple[TargetContext, ...]:
        """Return each outcome's target beside the pilot's mean after the change."""
        found = []
        for outcome in self.card.outcomes:
            if outcome.target is None:
                continue
            cells = self.cells[outcome.column]
            latest = cells[(cells["group"] == "pilot") & (cells["period"] == "after")]
            shown = not latest.empty and not bool(latest["suppressed"].iloc[0])
            value = {
                c: float(latest[c].iloc[0]) if shown else None
                for c in ("mean", "ci_low", "ci_high")
            }
            found.append(
                TargetContext(
                    outcome=outcome.measure_id,
                    label=outcome.name,
                    target=outcome.target.value,
                    latest=value["mean"],
                    ci_low=value["ci_low"],
                    ci_high=value["ci_high"],
                    unit=outcome.unit,
                    note=outcome.target.note,
                )
            )
        return tuple(found)

    def write(
        self,
        output_dir: Path | str,
        parameters: dict[str, Any] | None = None,
        *,
        inputs: Mapping[str, str] | None = None,
    ) -> Path:
        """Write rejected_rows.csv and results.json into ``output_dir``; return results' path.

        ``inputs`` are the hashes of what the report is made from, as ``evalkit
        run`` passes them (``evalkit.runner.fingerprint``). With them this is a
        run's write: this cycle's learning-log entry, as ``learning`` drafted it for
        the report, is recorded in the log first, then the log is hashed as the run
        leaves it and the fingerprint is written into results.json with everything
        else, once. Without them (exploring in JupyterLab) the learning log is left
        alone and no fingerprint is recorded.
        """
        output = Path(output_dir)
        output.mkdir(parents=True, exist_ok=True)
        write_rejected(self.validation, output)
        if inputs is not None:
            self.learning()  # the entry the report showed, or drafted now if it showed none
        shown = self.__dict__.get("_drafted")  # (results, entry), as learning() drafted them
        results = shown[0] if shown else self.results()  # one finished time for log and results
        run = results.run.model_copy(update={"parameters": parameters or {}})
        results = results.model_copy(update={"run": run})
        if inputs is not None:
            record_draft(self.card, self.__dict__["_drafted"][1])  # under the log's lock
            made_from = Fingerprint.of(inputs).with_part(LOG_FILE, hash_file(log_path(self.card)))
            run = results.run.model_copy(update={"inputs": RunInputs(**made_from.to_json())})
            results = results.model_copy(update={"run": run})
        return write_results(results, output / RESULTS_FILE)


def analyse_pilot(
    pilot: PilotCard | Path | str, *, validation: Validation | None = None
) -> Analysis:
    """Return a pilot analysed: its card loaded, data validated, effects estimated.

    ``validation`` is the data already validated against this card (as a run
    does once, before its kernel starts); without it the data are validated here.
    """
    started = iso_stamp()
    if validation is not None:
        card = validation.card
    else:
        card = pilot if isinstance(pilot, PilotCard) else load_pilot(pilot)
        validation = validate_data(card)
    validation.raise_if_too_broken()
    frame = validation.valid
    design = design_of(card)
    estimated = estimate_outcomes(card, frame)
    findings = tuple(e.finding for e in estimated)
    figures = {
        outcome.column: e.figure
        for outcome, e in zip(card.outcomes, estimated, strict=True)
        if e.figure is not None
    }
    # each table is published beside its finding's n, which its suppression allows for
    cells = {
        outcome.column: cell_means(card, frame, outcome, published_n=finding.n)
        for outcome, finding in zip(card.outcomes, findings, strict=True)
    }
    quality = assess_quality(validation, differences_baseline=design.rubric.differences_baseline)
    facts = {
        "rejected_share": validation.rejected_share,
        "rejected_rows": float(len(validation.rejected)),
        "min_cell_count": float(card.min_cell_count),
        **_quality_facts(quality, differences_baseline=design.rubric.differences_baseline),
        **(design.facts(findings) if design.facts is not None else _design_facts(findings)),
    }
    if design.rubric.sized_by_records:
        facts["smallest_group"] = _smallest_cell(card, frame)
    return Analysis(
        card=card,
        validation=validation,
        findings=findings,
        evidence=rate_evidence(card.design, facts, words=_design_words(findings)),
        signals=(*data_signals(validation, [f.n for f in findings]), *quality.signals()),
        cells=cells,
        figures=figures,
        plan=_plan(card, frame),
        voice=tuple(load_voice(card)),
        quality=quality,
        started=started,
        value=value_for_money(card, frame, findings),
    )


def write_rejected(validation: Validation, output: Path) -> Path:
    """Write the rejected rows (line, reasons, original values) to rejected_rows.csv.

    With ``quality.pseudonymise_rejected`` in the card, unit ids are replaced by
    salted hashes: the team holding the salt can still find a row, no one else can.
    A cell a spreadsheet would run as a formula is written with an apostrophe in
    front (see :mod:`evalkit.safe_csv`); the data file itself is never touched.
    """
    path = output / REJECTED_FILE
    rows = validation.rejected
    card = validation.card
    unit = card.data.unit
    if card.quality.pseudonymise_rejected and unit is not None and unit in rows.columns:
        rows = rows.copy()
        rows[unit] = pseudonymise(rows[unit], pilot_salt(card.folder))
    return write_csv(rows, path)


def _design_facts(findings: tuple[Finding, ...]) -> dict[str, float]:
    """Return the design's own checks (pre-trend test, pre-periods) the rating looks at."""
    facts: dict[str, float] = {}
    for finding in findings:
        checks = finding.checks
        if checks is not None:
            for key, value in (
                ("pretrend_p", checks.pretrend_p),
                ("pre_periods", checks.pre_periods),
            ):
                if value is not None:
                    facts[key] = min(facts.get(key, value), float(value))
            if checks.few_events:
                facts["few_events"] = 1.0
        inference = finding.inference
        if inference is not None:
            # the clusters a finding rests on; stated only when they are places, not people
            facts["few_clusters"] = 1.0
            facts["unbounded"] = max(facts.get("unbounded", 0.0), float(inference.unbounded))
            for key, count in (
                ("clusters", inference.clusters),
                ("treated_clusters", inference.treated_clusters),
            ):
                if count is not None:
                    facts[key] = min(facts.get(key, count), float(count))
    return facts


def _design_words(findings: tuple[Finding, ...]) -> dict[str, str]:
    """Return what the clusters behind the findings are called ("wards"), for the reasons."""
    for finding in findings:
        if finding.inference is not None and finding.inference.cluster_word:
            return {"clusters": finding.inference.cluster_word}
    return {}


def _quality_facts(quality: QualityReport, *, differences_baseline: bool) -> dict[str, float]:
    """Return the integrity findings the evidence rating looks at."""
    facts: dict[str, float] = {}
    if isinstance(quality.attrition, Attrition):
        facts["attrition_high"] = float(quality.attrition.rating.level == "high")
    if not differences_baseline and quality.equivalence:
        # a gap in starting levels is what difference-in-differences differences away
        facts["imbalance"] = max(abs(eq.difference) for eq in quality.equivalence.values())
    return facts


def _plan(card: PilotCard, frame: pd.DataFrame) -> tuple[Mde, ...]:
    """Return the pilot's planning numbers, for the report's "Is the pilot big enough?" note."""
    if not any(o.hoped_change is not None for o in card.outcomes):
        return ()
    try:
        return tuple(plan_pilot(card, frame))
    except EstimationError:
        return ()  # the design cannot be planned, or the data cannot size it: no note


def _smallest_cell(card: PilotCard, frame: pd.DataFrame) -> float:
    if frame.empty:
        return 0.0
    keys = [post_mask(card, frame)]
    if card.data.group is not None:
        keys.append(pilot_mask(card, frame))
    return float(frame.groupby(keys).size().min())


def locate_pilot(pilot_dir: Path | str) -> Path:
    """Return a pilot folder, looking for a relative one from here and each folder above.

    This lets a template's default ``pilot_dir`` work both when papermill runs
    it from the repository and when JupyterLab opens it where it is installed.
    """
    path = Path(pilot_dir)
    if path.is_absolute() or path.exists():
        return path
    for parent in Path.cwd().resolve().parents:
        if (parent / path).exists():
            return parent / path
    return path
