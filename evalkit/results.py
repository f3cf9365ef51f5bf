"""The results file (``results.json``): the one contract between a pilot run and the centre.

Versioned by ``schema_version``; new keys may be added without a bump, a key
that changes meaning bumps it. Readers refuse a newer version than they know.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.atomic import write_atomically
from evalkit.card.folders import RESULTS_FILE
from evalkit.errors import DataError
from evalkit.estimate.evidence import Evidence
from evalkit.estimate.finding import Finding
from evalkit.estimate.value_model import CurvePoint, ValueForMoney
from evalkit.quality.signal import Signal

SCHEMA_VERSION = 1

__all__ = [
    "RESULTS_FILE",
    "SCHEMA_VERSION",
    "CurvePoint",
    "DataInfo",
    "PilotInfo",
    "Results",
    "RunInfo",
    "RunInputs",
    "TargetContext",
    "TemplateInfo",
    "ValueForMoney",
    "load_results",
    "record_template",
    "write_results",
]


class _Frozen(BaseModel):
    # a newer evalkit may add keys (without a schema_version bump): read past them
    model_config = ConfigDict(frozen=True, extra="ignore")


class PilotInfo(_Frozen):
    id: str
    name: str
    place: str
    team: str
    cycle: int


class DataInfo(_Frozen):
    #: None when the rows read, set beside the rejected rows or a finding's n, would let a
    #: count below the pilot's min_cell_count be worked out (rows - n); not published
    rows: int | None
    rejected_rows: int | None  # None: fewer than the pilot's min_cell_count, not published
    sha256: str
    file: str = ""


class TargetContext(_Frozen):
    """A target beside the pilot's latest mean: context, never a pass or fail."""

    outcome: str
    label: str
    target: float
    latest: float | None = None  # None when the group is too small to show
    ci_low: float | None = None
    ci_high: float | None = None
    unit: str = ""
    note: str = ""


class RunInputs(_Frozen):
    """What a report was made from: each input's SHA-256, and the hash of those hashes.

    Names are relative to the pilot folder (``data/cases.csv``), never a local
    path; see ``evalkit.runner.fingerprint``. A run skips a pilot whose inputs
    hash the same as its last report's.
    """

    fingerprint: str
    parts: dict[str, str]


class TemplateInfo(_Frozen):
    """The report template a run executed: evalkit's own, or the pilot's adapted copy."""

    #: the file name, or for a pilot's own template its path inside the pilot folder
    name: str
    #: "shipped" (evalkit's), "local" (the pilot's own, named in its card under report:) or
    #: "given" (passed to run_pilot by a program)
    source: Literal["shipped", "local", "given"]
    sha256: str

    @property
    def local(self) -> bool:
        """Return True when the pilot's own adapted template made the report."""
        return self.source == "local"


class RunInfo(_Frozen):
    evalkit_version: str
    started: str
    finished: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    #: None when the report was not made by ``evalkit run`` (a template run on its own)
    inputs: RunInputs | None = None
    #: which template ran; None when not made by ``evalkit run`` (or by an earlier evalkit)
    template: TemplateInfo | None = None


class Results(_Frozen):
    """Everything a pilot run tells the centre; no record-level data, no identifiers."""

    schema_version: int = SCHEMA_VERSION
    pilot: PilotInfo
    design: str
    evidence: Evidence
    data: DataInfo
    findings: tuple[Finding, ...]
    signals: tuple[Signal, ...] = ()
    targets: tuple[TargetContext, ...] = ()
    #: each costed outcome's value for money (evalkit.estimate.value); empty with no costs
    value_for_money: tuple[ValueForMoney, ...] = ()
    run: RunInfo


def write_results(results: Results, path: Path) -> Path:
    """Write results.json atomically (a crash leaves the old file or the new, never half)."""
    # an interval without end (too few places to bound it) is written as null: strict JSON
    plain = _finite_or_null(results.model_dump(mode="json"))
    text = json.dumps(plain, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_atomically(path, text)


def record_template(path: Path, template: dict[str, str]) -> Results:
    """Record in a results.json which template ran (``run.template``); return the results.

    The run does this, not the template: a pilot's adapted copy of the template
    cannot know it is one. ``run.parameters.template`` is set to the same name.
    """
    load_results(path)  # a file the template wrote wrongly is reported as it is
    raw = json.loads(path.read_text(encoding="utf-8"))  # edited as written: nothing else changes
    info = TemplateInfo.model_validate(template)
    raw["run"]["template"] = info.model_dump(mode="json")
    raw["run"]["parameters"] = {**(raw["run"].get("parameters") or {}), "template": info.name}
    write_atomically(path, json.dumps(raw, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return load_results(path)


def load_results(path: Path) -> Results:
    """Return a results.json file, checked; DataError says what is wrong with it."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"results file cannot be read: {exc}", path=path) from None
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise DataError(
            f"results file has schema_version {version}; this evalkit reads up to {SCHEMA_VERSION}",
            path=path,
            hint="upgrade evalkit",
        )
    try:
        return Results.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise DataError(
            f"results file is not valid: {first['msg']}", path=path, where=where
        ) from None


def _finite_or_null(value: Any) -> Any:
    """Return the value with every infinite or missing number replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_null(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_null(item) for item in value]
    return value
