"""What the command line prints: plain lines for a log file, a progress bar on a terminal.

Text a person typed (paths, cell values, notes) is printed as it is, never
read as console markup. Only ``evalkit.cli`` uses this module.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from evalkit.timestamps import line_stamp

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.contract import Validation
    from evalkit.runner import Batch, RunOutcome
    from evalkit.runner.check import PilotCheck

out = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


#: How many kinds of problem (a column and a rule) the screen lists; the file lists them all.
SHOWN_KINDS = 15
#: How many failing cells of each kind the screen gives as examples.
EXAMPLES = 3


def print_check(check: PilotCheck) -> bool:
    """Print what checking a pilot found, summary first; return True when a run would go ahead.

    The screen gets a summary: each rule broken, how many cells, three examples
    with their spreadsheet lines. Every failing cell is in the list written
    beside the data, which the last lines name.
    """
    validation = check.validation
    rows, rejected = validation.rows_read, len(validation.rejected)
    out.print(f"{shown(validation.card.id)}: the card is in order.")
    read = f"{rows:,} row{'' if rows == 1 else 's'} read"
    out.print(f"{shown(str(validation.path))}: {read}; " + _rejected_words(validation))
    readings = validation.readings
    if readings:
        out.print("How the file was read:")
        for reading in readings:
            out.print(f"  {shown(reading.text, limit=None)}")
    if not validation.failures.empty:
        _print_failures(validation.failures)
    if check.problems_file is not None:
        out.print(f"Every failing cell is listed in {shown(str(check.problems_file))}.")
    for warning in check.warnings:
        err.print(f"warning: {shown(warning, limit=None)}")
    if check.stopped:
        err.print(f"error: a run would stop here: {shown(check.stopped, limit=None)}")
        return False
    if check.example_only:
        out.print(
            "The data file holds only the example row `evalkit new` wrote, so there is nothing "
            "to estimate yet: replace it with the pilot's records (keep the header), then "
            "validate again."
        )
        return True
    if rejected:
        err.print(
            f"warning: a run will go ahead: it leaves {_counted(rejected, 'row')} out and lists "
            "them in rejected_rows.csv."
        )
    out.print("The estimates were made as a run makes them: `evalkit run` can go ahead.")
    return True


def _counted(n: int, noun: str) -> str:
    """Return "1 row" or "1,204 rows"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _rejected_words(validation: Validation) -> str:
    rejected, limit = len(validation.rejected), validation.card.data.max_rejected_share
    if not rejected:
        return "every row passed its checks."
    share = f"{rejected:,} ({validation.rejected_share:.1%}) fail a check"
    if validation.too_many_rejected:
        return f"{share}, more than the {limit:.0%} the card allows."
    return f"{share}, within the {limit:.0%} the card allows (data.max_rejected_share)."


def _print_failures(failures: pd.DataFrame) -> None:
    kinds = failures.groupby(["column", "rule"], sort=False)
    counted = kinds.size().sort_values(ascending=False, kind="stable")
    rows = failures["line"].nunique()
    total = _counted(len(failures), "cell")
    out.print(f"Problems, by column and rule ({total} in {_counted(rows, 'row')}):")
    for column, rule in counted.index[:SHOWN_KINDS]:
        cells = kinds.get_group((column, rule)).head(EXAMPLES)
        examples = ", ".join(
            f"line {line}" + (f" ('{shown(value, limit=40)}')" if value else "")
            for line, value in zip(cells["line"], cells["value"], strict=True)
        )
        count = int(counted[(column, rule)])
        word = "cell" if count == 1 else "cells"
        out.print(
            f"  {shown(column)}: {shown(rule, limit=None)}: {count:,} {word}, e.g. {examples}"
        )
    hidden = counted.iloc[SHOWN_KINDS:]
    if len(hidden):
        out.print(
            f"  ... and {len(hidden):,} more kind(s) of problem ({int(hidden.sum()):,} cells)"
        )


def shown(text: object, *, limit: int | None = 200) -> str:
    """Return text as it may go to a terminal: control characters made visible, long text cut.

    A cell holding an escape sequence would otherwise move the cursor, recolour
    or rewrite the screen of whoever validates the file.
    """
    value = str(text)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return "".join(
        ch if ch == "\n" or unicodedata.category(ch)[0] != "C" else f"\\u{ord(ch):04x}"
        for ch in value
    )


@dataclass
class RunDisplay:
    """Shows a run as it goes: a progress bar on a terminal, else a time-stamped line a pilot."""

    progress: Progress | None
    running: list[str] = field(default_factory=list)

    def started(self, pilot: Path) -> None:
        """Show that a pilot has started."""
        from evalkit.runner.batch import pilot_name

        self.running.append(pilot_name(pilot))
        if self.progress is not None:
            self.progress.update(self.progress.task_ids[0], description=", ".join(self.running))

    def done(self, outcome: RunOutcome) -> None:
        """Show how a pilot's run ended (a failure in full, on stderr)."""
        from evalkit.runner.batch import pilot_name

        name = pilot_name(outcome.pilot)
        if name in self.running:
            self.running.remove(name)
        if self.progress is not None:
            task = self.progress.task_ids[0]
            self.progress.update(task, advance=1, description=", ".join(self.running))
        print_outcome(outcome, timestamp=self.progress is None)

    def finish(self, batch: Batch) -> None:
        """Take the progress bar away and print the table the run ends with."""
        if self.progress is not None:
            self.progress.stop()
        print_summary(batch)


@contextlib.contextmanager
def run_display(total: int) -> Iterator[RunDisplay]:
    """Show a run of ``total`` pilots for the ``with`` block (the bar goes when it ends)."""
    if not err.is_terminal:
        yield RunDisplay(None)
        return
    columns = (SpinnerColumn(), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, TextColumn("{task.description}"), console=err, transient=True)
    progress.add_task("starting", total=total)
    with progress:
        yield RunDisplay(progress)


def print_outcome(outcome: RunOutcome, *, timestamp: bool = False) -> None:
    """Print one line as a pilot finishes (with the time, for a log); failures in full on stderr."""
    from evalkit.runner.batch import pilot_name

    stamp = f"{line_stamp()} " if timestamp else ""
    name = escape(pilot_name(outcome.pilot))
    if outcome.status == "ok" and outcome.report_dir is not None:
        why = f"  ({escape(outcome.note)})" if outcome.note else ""
        out.print(
            f"{stamp}[green]ok[/]      {name}  {outcome.seconds:.1f}s  "
            f"{escape(str(outcome.report_dir / 'report.html'))}{why}",
            markup=True,
        )
    elif outcome.status == "skipped":
        out.print(f"{stamp}[cyan]skipped[/] {name}  {escape(outcome.note)}", markup=True)
    else:
        err.print(
            f"{stamp}[red]failed[/]  {name}  {outcome.seconds:.1f}s\n{escape(outcome.message)}",
            markup=True,
        )


def print_summary(batch: Batch) -> None:
    """Print the table a run ends with, and where its manifest is."""
    if batch.manifest_problem:
        err.print(f"error: the run manifest could not be written: {batch.manifest_problem}")
    title = f"{len(batch.pilots)} pilot(s) in {batch.seconds:.1f}s"
    table = Table(title=title, title_justify="left")
    for column in ("pilot", "status", "seconds"):
        table.add_column(column)
    table.add_column("report or reason", overflow="fold")
    rows = batch.summary()
    for row in rows:
        table.add_row(*row)
    # a log file is no terminal: widen the table so report paths stay whole (up to 400 columns)
    widest = max((len(name) + len(where) for name, _, _, where in rows), default=0)
    wide = max(out.width, min(400, widest + 40))
    console = out if out.is_terminal else Console(file=out.file, width=wide, highlight=False)
    console.print(table)
    if batch.manifest is not None:
        out.print(f"Manifest: {batch.manifest}")
