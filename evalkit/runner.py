"""Running pilots: validate, execute the report template, check the results, publish.

A run writes into a hidden partial folder and renames it into
``reports/cycle-<n>/`` only when everything succeeded, so a failed or killed
run leaves the previous report in place. What a failed run produced is kept
in ``reports/cycle-<n>.failed/`` to help the person fix it.
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalkit.analysis import write_rejected
from evalkit.card import CARD_FILE, PilotCard, load_pilot
from evalkit.contract import validate_data
from evalkit.errors import ConfigError, DataError, EvalkitError
from evalkit.learning import log_path, read_log, refresh_draft
from evalkit.results import RESULTS_FILE, load_results
from evalkit.voice import load_voice

REPORT_TEMPLATE = "pilot_report.ipynb"


@dataclass(frozen=True)
class RunOutcome:
    """How one pilot's run ended: where its report is, or why it failed."""

    pilot: Path
    status: Literal["ok", "failed"]
    seconds: float
    report_dir: Path | None = None
    message: str = ""


def find_pilots(pilots_dir: Path) -> list[Path]:
    """Return every folder directly under ``pilots_dir`` that holds a pilot card, by name."""
    if not pilots_dir.is_dir():
        raise ConfigError(
            "there is no pilots folder here",
            path=pilots_dir,
            hint="give the folder that holds one sub-folder per pilot, e.g. `evalkit run --all "
            "pilots`",
        )
    return sorted(p for p in pilots_dir.iterdir() if (p / CARD_FILE).is_file())


def run_pilot(
    pilot_dir: Path | str, *, template: Path | None = None, timeout: float | None = None
) -> Path:
    """Run one pilot end to end and return its new report folder.

    Raises the library's error (card, data, estimation or notebook) with a
    plain message; the previous report is left untouched on any failure.
    """
    from evalkit.notebooks import execute_template, export_html, template_path

    card = load_pilot(pilot_dir)
    validation = validate_data(card)
    voice = load_voice(card)
    read_log(log_path(card))  # a hand edit that broke the log stops the run before any work
    final = card.report_dir()
    failed = final.with_name(final.name + ".failed")
    try:
        validation.raise_if_too_broken()
    except DataError as exc:
        _replace_dir(failed)
        failed.mkdir(parents=True)
        write_rejected(validation, failed)
        raise DataError(
            f"{exc.message} (every failing row is listed in {failed / 'rejected_rows.csv'})",
            path=exc.path,
            problems=exc.problems,
            hint=exc.hint,
        ) from None

    partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
    _replace_dir(partial)
    partial.mkdir(parents=True)
    try:
        notebook = execute_template(
            template or template_path(REPORT_TEMPLATE),
            partial / "report.ipynb",
            {"pilot_dir": str(card.folder.resolve()), "output_dir": str(partial.resolve())},
            cwd=card.folder.resolve(),
            timeout=timeout,
        )
        load_results(partial / RESULTS_FILE)
        export_html(notebook, partial / "report.html")
    except BaseException as exc:
        _replace_dir(failed)
        partial.rename(failed)
        if isinstance(exc, EvalkitError):
            if exc.path is not None and exc.path.is_relative_to(partial):
                exc.path = failed / exc.path.relative_to(partial)
            exc.hint = (exc.hint + "; " if exc.hint else "") + f"partial output kept in {failed}"
            exc.args = (exc.render(),)
        raise
    _swap_into_place(partial, final)
    _replace_dir(failed)
    refresh_draft(card, load_results(final / RESULTS_FILE), voice)
    return final


def run_pilots(
    pilot_dirs: Iterable[Path],
    *,
    template: Path | None = None,
    timeout: float | None = None,
    on_start: Callable[[Path], None] | None = None,
    on_done: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Run each pilot in turn; one pilot's failure never stops the others."""
    outcomes = []
    for pilot_dir in pilot_dirs:
        if on_start is not None:
            on_start(pilot_dir)
        started = time.perf_counter()
        try:
            report = run_pilot(pilot_dir, template=template, timeout=timeout)
            outcome = RunOutcome(pilot_dir, "ok", time.perf_counter() - started, report)
        except EvalkitError as exc:
            outcome = RunOutcome(
                pilot_dir, "failed", time.perf_counter() - started, message=exc.render()
            )
        except Exception as exc:  # a bug hit by one pilot must not stop the others
            outcome = RunOutcome(
                pilot_dir,
                "failed",
                time.perf_counter() - started,
                message=f"unexpected error (please report it as an evalkit bug): "
                f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
            )
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return outcomes


def latest_report(card: PilotCard) -> Path | None:
    """Return the newest cycle's report folder that has a results file, if any."""
    cycles = sorted(
        (p for p in card.reports_dir.glob("cycle-*") if (p / RESULTS_FILE).is_file()),
        key=lambda p: int(p.name.split("-")[1]) if p.name.split("-")[1].isdigit() else -1,
    )
    return cycles[-1] if cycles else None


def _swap_into_place(partial: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    partial.rename(final)
    _replace_dir(old)


def _replace_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
