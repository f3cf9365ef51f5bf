"""What the command line prints: plain lines for a log file, a progress bar on a terminal.

Text a person typed (paths, cell values, notes) is printed as it is, never
read as console markup. Only ``evalkit.cli`` uses this module.
"""

from __future__ import annotations

import contextlib
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
    from evalkit.contract import Validation
    from evalkit.runner import Batch, RunOutcome

out = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


def print_validation(validation: Validation) -> bool:
    """Print what checking the data found, each failing cell too; return True if none failed."""
    out.print(
        f"{validation.card.id}: card OK; {validation.path}: {validation.rows_read} rows read, "
        f"{len(validation.rejected)} rejected ({validation.rejected_share:.1%})"
    )
    if not validation.rows_read:
        validation.raise_if_too_broken()  # says the file has a header but no rows
    if validation.failures.empty:
        out.print("[green]All rows passed their checks.[/]", markup=True)
        return True
    table = Table(title="Problems by column and rule", title_justify="left")
    for column in ("column", "rule", "rows", "first line"):
        table.add_column(column)
    for values in validation.failure_summary().itertuples(index=False):
        table.add_row(*(str(value) for value in values))
    out.print(table)
    failures = validation.failures[["line", "column", "rule", "value"]]
    for line, column, rule, value in failures.itertuples(index=False):
        found = f" (found '{value}')" if value else ""
        out.print(f"{validation.path}:{line}: {column}: {rule}{found}")
    verdict = (
        "too many to estimate on"
        if validation.too_many_rejected
        else "a run will leave these rows out and list them in rejected_rows.csv"
    )
    err.print(f"{len(validation.rejected)} row(s) failed: {verdict}.")
    return False


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
