"""Checking a pilot as a run would, short of its report: what ``evalkit validate`` does.

A card that passes here does not then fail in ``evalkit run`` for its data's
sake. The data are read and validated, and what a run reads besides (the
voice file, the learning log) is read too. Then every estimate, the evidence
rating, the planning note and this cycle's draft log entry are made in
memory, as the report template makes them. Nothing is written but the full
list of failing cells, beside the data file, where a person fixing the data
will look for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from evalkit.card import PilotCard, load_pilot
from evalkit.contract import Validation, validate_data
from evalkit.contract.validation import check_roles
from evalkit.errors import DataError, EvalkitError
from evalkit.safe_csv import write_csv
from evalkit.scaffold import example_rows, is_example_data

#: The columns of the full list of problems, and the line it is recognised by.
PROBLEM_COLUMNS = ("line", "column", "rule", "value")


@dataclass(frozen=True)
class PilotCheck:
    """What checking a pilot found: its validation, and whether a run would go ahead."""

    validation: Validation
    #: every failing cell, one a line, written beside the data (None when no cell failed)
    problems_file: Path | None
    #: why a run would stop, in full (empty when it would go ahead)
    stopped: str = ""
    #: the data hold only the example row ``evalkit new`` wrote: nothing to estimate yet
    example_only: bool = False
    #: what the person should know although a run would go ahead (the list not written, ...)
    warnings: tuple[str, ...] = ()

    @property
    def goes_ahead(self) -> bool:
        """Return True when ``evalkit run`` would go ahead with this card and data."""
        return not self.stopped


def check_pilot(pilot: PilotCard | Path | str) -> PilotCheck:
    """Return a pilot checked as a run checks it, with every estimate made in memory.

    A card that cannot be read, or a data file that cannot be read at all,
    raises its ConfigError or DataError; anything a run would stop on after
    that is returned in ``stopped``.
    """
    card = pilot if isinstance(pilot, PilotCard) else load_pilot(pilot)
    validation = validate_data(card, roles=False)
    listed, note = write_problems(validation)
    found = PilotCheck(validation, listed, warnings=(note,) if note else ())
    if validation.rows_read and validation.too_many_rejected:
        limit = validation.card.data.max_rejected_share
        where = f"the cells listed in {listed}" if listed else "the cells shown above"
        return replace(
            found,
            stopped=f"more than the {limit:.0%} of rows the card allows fail a check, so a run "
            f"would estimate nothing\n  fix: correct {where}, or raise "
            "data.max_rejected_share in pilot.yaml if these rows can safely be left out",
        )
    try:
        validation.raise_if_too_broken()  # a header and no rows
    except DataError as exc:
        return replace(found, stopped=exc.render())
    if validation.rows_read == 1 and is_example_data(card, validation.valid):
        return replace(found, example_only=True)
    if example_rows(card, validation.valid):
        found = replace(
            found,
            warnings=(
                *found.warnings,
                "the example row `evalkit new` wrote is still in the data: remove it, or a "
                "run counts it as one of the pilot's records",
            ),
        )
    try:
        check_roles(validation)
        _as_a_run_would(card, validation)
    except EvalkitError as exc:
        return replace(found, stopped=exc.render())
    return found


def problems_path(card: PilotCard) -> Path:
    """Return where the full list of a pilot's failing cells is written: beside its data."""
    data = card.data_path
    return data.with_name(f"{data.stem}-problems.csv")


def write_problems(validation: Validation) -> tuple[Path | None, str]:
    """Write every failing cell (line, column, rule, value) beside the data.

    Returns the list's path (None when none was written) and, when it could not
    be written, why: a run does not need the list, so that never stops a check.
    With no failing cell, a list left by an earlier check is removed. Only a
    file that starts with this list's own header line is ever replaced or
    removed: one of the team's own files of that name is left as it is.
    """
    path = problems_path(validation.card)
    ours = path.is_file() and _is_problem_list(path)
    if validation.failures.empty:
        if ours:
            path.unlink()
        return None, ""
    if path.exists() and not ours:
        return None, (
            f"{path} is there and is not evalkit's list of problems, so it was left as it "
            "is and the list was not written (rename that file to get the list)"
        )
    failures = validation.failures[list(PROBLEM_COLUMNS)]
    try:
        return write_csv(pd.DataFrame(failures), path), ""
    except OSError as exc:
        return None, (
            f"the list of problems could not be written to {path} ({exc.strerror or exc}); "
            "make the data folder writable to get it"
        )


def _is_problem_list(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().strip() == ",".join(PROBLEM_COLUMNS)
    except (OSError, UnicodeDecodeError):
        return False


def _as_a_run_would(card: PilotCard, validation: Validation) -> None:
    """Make in memory what a run makes before its report is drawn; raise what it would raise."""
    from evalkit.analysis import analyse_pilot
    from evalkit.contract.voice import load_voice
    from evalkit.learning import log_path, read_log

    load_voice(card)
    read_log(log_path(card))
    analysis = analyse_pilot(card, validation=validation)
    analysis.learning()  # the draft entry, from the results a run would write
