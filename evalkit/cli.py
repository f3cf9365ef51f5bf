"""The command line: thin; each command calls one library function and explains errors.

Exit codes: 0 success; 1 a card, data or run problem explained in plain words;
2 a usage error. ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.markup import escape

from evalkit._version import __version__
from evalkit.console import err, out
from evalkit.errors import EvalkitError
from evalkit.estimate.registry import design_names

F = TypeVar("F", bound=Callable[..., Any])


def explains_errors(command: F) -> F:
    """Turn an EvalkitError into its message on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EvalkitError as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            err.print(f"[bold red]error:[/] {escape(exc.render())}", markup=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalkit")
@click.option("--debug", is_flag=True, help="Show the full traceback when something fails.")
def cli(debug: bool) -> None:
    """evalkit: evaluation and learning for local test-learn-grow pilots.

    Each pilot is a folder with a card (pilot.yaml), its data and its learning
    log. evalkit checks the data, estimates what changed with honest
    uncertainty and writes a publishable report.
    """


@cli.command()
@click.argument("pilot_dir", type=click.Path(path_type=Path))
@click.option(
    "--design",
    type=click.Choice(design_names()),
    default="did",
    show_default=True,
    help="The evaluation design the card starts with.",
)
@click.option("--name", default="", help="What the pilot tries, in a few words.")
@click.option("--place", default="", help="The council, partnership or area.")
@explains_errors
def new(pilot_dir: Path, design: str, name: str, place: str) -> None:
    """Scaffold a pilot: a commented card, a data template and an empty log.

    The template is written twice, as data/cases.csv and data/cases.xlsx: the
    design's columns and one example row. The card reads the CSV; point
    data.path at the XLSX to use the spreadsheet instead. Nothing already in
    the folder is overwritten.
    """
    from evalkit.scaffold import DATA_TEMPLATES, create_pilot

    templates = [pilot_dir / relative for relative in DATA_TEMPLATES]
    kept = [path for path in templates if path.exists()]
    card = create_pilot(pilot_dir, name=name, place=place, design=design)
    written = [str(path) for path in templates if path not in kept]
    out.print(f"Created {card} and an empty learning log.")
    if written:
        out.print(
            f"Data templates (a header and one example row): {' and '.join(written)}; the card "
            "reads the CSV (set data.path: data/cases.xlsx in the card to use the spreadsheet)."
        )
    if kept:
        out.print(f"Kept the data already there: {' and '.join(map(str, kept))}.")
    out.print(
        "Next: replace the example row with your records, edit the card, then "
        f"`evalkit validate {pilot_dir}`."
    )


@cli.command()
@click.argument("pilot_dir", type=click.Path(path_type=Path))
@explains_errors
def validate(pilot_dir: Path) -> None:
    """Check a pilot as a run would, short of its report; exit 1 only if a run would stop.

    Prints a summary (each rule broken, how many cells, three examples with
    their lines) and writes every failing cell to <data>-problems.csv beside
    the data. Rows a run would leave out are a warning (exit 0).
    """
    from evalkit.console import print_check
    from evalkit.runner.check import check_pilot

    with err.status("Checking the data and making the estimates as a run would..."):
        check = check_pilot(pilot_dir)
    if not print_check(check):
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--all",
    "run_all",
    is_flag=True,
    help="Run every pilot in PATHS (folders of pilots; default: ./pilots).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="How many pilots to run at once, each in its own process (default: one per core).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Run pilots whose inputs have not changed since their last report.",
)
@click.option("--timeout", type=float, default=None, help="Stop a pilot's report after SECONDS.")
@click.option(
    "--dask-scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run the pilots on the Dask cluster whose scheduler is at ADDRESS (evalkit[dask]).",
)
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the run manifest (default: runs/ beside the pilots folder).",
)
@explains_errors
def run(
    paths: tuple[Path, ...],
    run_all: bool,
    jobs: int | None,
    force: bool,
    timeout: float | None,
    dask_scheduler: str | None,
    runs_dir: Path | None,
) -> None:
    """Run pilots: validate, execute the report template, write reports/cycle-<n>/."""
    from evalkit.console import run_display
    from evalkit.runner import find_pilots, run_batch

    if run_all:
        pilots = [p for folder in (paths or (Path("pilots"),)) for p in find_pilots(folder)]
    elif paths:
        pilots = list(paths)
    else:
        raise click.UsageError("give one or more pilot folders, or --all [PILOTS_DIR]")
    if not pilots:
        err.print("No pilots found (a pilot is a folder with a pilot.yaml).")
        sys.exit(1)
    with run_display(len(pilots)) as display:
        batch = run_batch(
            pilots,
            jobs=jobs,
            force=force,
            timeout=timeout,
            dask_scheduler=dask_scheduler,
            runs_dir=runs_dir,
            on_start=display.started,
            on_done=display.done,
            on_end=display.finish,  # also when the run is stopped (Ctrl-C, SIGTERM)
        )
    if batch.failed:
        sys.exit(1)


@cli.command()
@click.argument("pilots_dir", required=False, default="pilots", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write comparison.html, comparison.ipynb and comparison.json.",
)
@click.option("--timeout", type=float, default=None, help="Stop the comparison after SECONDS.")
@explains_errors
def compare(pilots_dir: Path, out_dir: Path, timeout: float | None) -> None:
    """Compare all pilots: portfolio, shared outcomes pooled, learning and blockers; no ranking."""
    from evalkit.runner.comparison import run_comparison

    folder, warnings = run_comparison(pilots_dir, out_dir, timeout=timeout)
    for warning in warnings:
        err.print(f"warning: {warning.splitlines()[0]}")
    out.print(f"Wrote {folder / 'comparison.html'} and {folder / 'comparison.json'}.")


@cli.command()
@click.argument("report", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--out",
    "pdf",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the PDF (default: beside the report; for a pilot's "
    "reports/cycle-N/report.html, reports/cycle-N-report.pdf).",
)
@explains_errors
def pdf(report: Path, pdf: Path | None) -> None:
    """Print a report.html (or comparison.html) to PDF on A4 with headless Chromium.

    A pilot's report folder, reports/cycle-N/, is replaced by the next run of
    that cycle, so by default the PDF is written beside it, not inside it.
    """
    from evalkit.notebooks import default_pdf_path, export_pdf, in_replaced_folder

    target = pdf or default_pdf_path(report)
    if in_replaced_folder(target):
        err.print(
            f"warning: {target.parent} is replaced by the next run of this cycle, and the PDF "
            "with it; keep a copy elsewhere (leave out --out to write it beside that folder)."
        )
    written = export_pdf(report, target)
    out.print(f"Wrote {written} (A4).")


@cli.command()
@click.argument("pilot_dir", type=click.Path(path_type=Path))
@explains_errors
def plan(pilot_dir: Path) -> None:
    """Say the smallest change this pilot's data can expect to detect, outcome by outcome."""
    from evalkit.card import load_pilot
    from evalkit.contract import validate_data
    from evalkit.estimate.power import plan_pilot, power_summary

    card = load_pilot(pilot_dir)
    out.print(power_summary(plan_pilot(card, validate_data(card).valid)))


@cli.command()
@click.argument("pilot_dir", type=click.Path(path_type=Path))
@click.option("--name", default="pilot_report.ipynb", help="The copy's file name in the pilot.")
@explains_errors
def adapt(pilot_dir: Path, name: str) -> None:
    """Copy the report template into a pilot's folder to adapt; the card is pointed at it.

    An existing file is never replaced; the card gets two lines at its end
    (report: template: NAME) and is otherwise left as written.
    """
    from evalkit.runner import adapt_pilot

    for line in adapt_pilot(pilot_dir, name).said(pilot_dir):
        out.print(line, markup=False)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("pilot_dir", required=False)
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED)
@click.option("--no-browser", is_flag=True, help="Start the server without opening a browser.")
@explains_errors
def lab(pilot_dir: str | None, jupyter_args: tuple[str, ...], no_browser: bool) -> None:
    """Open JupyterLab on a pilot (or the pilots folder) with the templates ready to copy.

    Arguments after the folder, or after --, are passed to JupyterLab:
    `evalkit lab pilots/x -- --port 8899`. Run as root (as in many
    containers), --allow-root is added for you. Ctrl-C or SIGTERM stops
    JupyterLab too (killed if it has not stopped within 10 seconds).
    """
    from evalkit.notebooks import lab_command

    extra = list(jupyter_args)
    if pilot_dir is not None and pilot_dir.startswith("-"):  # `evalkit lab --port 8899 [x]`
        extra.insert(0, pilot_dir)
        # the folder, if given after JupyterLab's options, is the first one that is a folder
        folders = [a for a in extra if not a.startswith("-") and Path(a).is_dir()]
        pilot_dir = folders[0] if folders else None
        if pilot_dir is not None:
            extra.remove(pilot_dir)
    folder = Path(pilot_dir) if pilot_dir is not None else None
    command = lab_command(folder, open_browser=not no_browser, extra_args=extra)
    for note in command.notes:
        err.print(note)
    err.print(f"Starting JupyterLab: {' '.join(command.args)}")
    sys.exit(command.run())


@cli.group()
def log() -> None:
    """Show, add to and close learning-log entries (the log is append-only)."""


_human_options = [
    click.option(
        "--participant",
        "participants",
        multiple=True,
        help="A role or group who made sense of the cycle (repeatable).",
    ),
    click.option("--assumption", default="", help="The assumption this cycle tested."),
    click.option("--did", "what_we_did", default="", help="What we did this cycle."),
    click.option("--learned", default="", help="What we learned."),
    click.option(
        "--decision",
        type=click.Choice(["adapt", "continue", "grow", "pause", "stop"]),
        default=None,
        help="What we decide.",
    ),
    click.option("--reasons", default="", help="Why we decide it."),
    click.option(
        "--next",
        "next_changes",
        multiple=True,
        help="Something we will change next cycle (repeatable).",
    ),
    click.option(
        "--blocker",
        "blockers",
        multiple=True,
        help="'WHAT | WHO MUST ACT': a blocker for another tier (repeatable).",
    ),
]


def _with_human_options(command: F) -> F:
    for option in reversed(_human_options):
        command = option(command)
    return command


def _human(fields: dict[str, Any]) -> dict[str, Any]:
    from evalkit.learning import Blocker

    return {**fields, "blockers": [Blocker.parse(text) for text in fields.pop("blockers", ())]}


@log.command("show")
@click.argument("pilot_dir", type=click.Path(path_type=Path))
@explains_errors
def log_show(pilot_dir: Path) -> None:
    """Show the learning log, newest cycle first."""
    from rich.markdown import Markdown

    from evalkit.card import load_pilot
    from evalkit.learning import current_entries, log_path, read_log, render_log

    card = load_pilot(pilot_dir)
    # wrapped, never cut: soft wrap (the console's default) crops a list item at the width
    out.print(
        Markdown(render_log(card, current_entries(read_log(log_path(card))))), soft_wrap=False
    )


@log.command("add")
@click.argument("pilot_dir", type=click.Path(path_type=Path))
@_with_human_options
@explains_errors
def log_add(pilot_dir: Path, **fields: Any) -> None:
    """Add to the current cycle's draft entry; text is added to, never replaced."""
    from evalkit.card import load_pilot
    from evalkit.learning import add_to_entry

    card = load_pilot(pilot_dir)
    entry = add_to_entry(card, **_human(fields))
    out.print(f"Added to the cycle {entry.cycle} entry ({entry.id}, revision {entry.revision}).")


@log.command("close")
@click.argument("pilot_dir", type=click.Path(path_type=Path))
@explains_errors
def log_close(pilot_dir: Path) -> None:
    """Close the current cycle's entry; refuses without a decision, reasons and learning."""
    from evalkit.card import load_pilot
    from evalkit.learning import close_entry

    card = load_pilot(pilot_dir)
    entry = close_entry(card)
    out.print(f"Closed cycle {entry.cycle} ({entry.id}): {entry.decision}.")
    out.print(f"Next: set `cycle: {entry.cycle + 1}` in {card.card_path} to start the next cycle.")


@log.command("correct")
@click.argument("pilot_dir", type=click.Path(path_type=Path))
@click.option("--cycle", type=int, default=None, help="The closed cycle to correct.")
@_with_human_options
@explains_errors
def log_correct(pilot_dir: Path, cycle: int | None, **fields: Any) -> None:
    """Correct a closed entry with a new entry that supersedes it."""
    from evalkit.card import load_pilot
    from evalkit.learning import correct_entry

    card = load_pilot(pilot_dir)
    entry = correct_entry(card, cycle, **_human(fields))
    out.print(f"Wrote correction {entry.id} superseding {entry.supersedes}; close it when done.")


def main() -> None:
    """Run the evalkit command line."""
    cli(prog_name="evalkit")
