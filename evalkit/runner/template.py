"""Which report template a pilot runs: the shipped one, or the pilot's own adapted copy.

A pilot may keep its own copy of the report template in its folder (a local
question, a subgroup, an extra chart) and name it in its card::

    report:
      template: pilot_report.ipynb   # inside the pilot folder

``evalkit run`` (one pilot, ``--all``, worker processes and Dask alike) then
runs that copy; its hash is part of the fingerprint, so editing it re-runs the
pilot, while a change to the shipped template does not. results.json records
which template ran (``run.template``). ``adapt_pilot`` (``evalkit adapt``)
makes the copy and adds the two card lines, leaving the rest of the card as
it was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evalkit.atomic import write_atomically
from evalkit.card import CARD_FILE, PilotCard, load_pilot
from evalkit.card.reader import read_card_text
from evalkit.errors import ConfigError, EvalkitError
from evalkit.hashing import hash_file

#: The shipped report template's file name, and the name ``adapt_pilot`` gives a pilot's copy.
REPORT_TEMPLATE = "pilot_report.ipynb"

Source = Literal["shipped", "local", "given"]


@dataclass(frozen=True)
class ReportTemplate:
    """The template a pilot's report is made from, and where it came from."""

    path: Path
    #: "shipped" (evalkit's own), "local" (the pilot's, named in its card) or "given"
    #: (passed to ``run_pilot(template=...)``)
    source: Source
    #: the file name, or for a local template its path inside the pilot folder
    name: str

    @property
    def fingerprint_key(self) -> str:
        """Return the name of this template's hash among a report's inputs."""
        return f"local template {self.name}" if self.source == "local" else f"template {self.name}"

    def describe(self) -> str:
        """Return the template in words for the console and the manifest."""
        return f"{self.source} template {self.name}" if self.source != "given" else self.name


def default_template() -> Path:
    """Return the report template shipped with evalkit."""
    from evalkit.notebooks import template_path

    return template_path(REPORT_TEMPLATE)


def template_info(card: PilotCard, path: Path) -> ReportTemplate:
    """Return what a template is for this pilot: shipped, the pilot's own, or one given."""
    resolved, folder = path.resolve(), card.folder.resolve()
    if resolved.is_relative_to(folder):
        return ReportTemplate(path, "local", resolved.relative_to(folder).as_posix())
    shipped = default_template().resolve()
    return ReportTemplate(path, "shipped" if resolved == shipped else "given", path.name)


def choose_template(card: PilotCard, given: Path | None = None) -> ReportTemplate:
    """Return the template a run of this pilot uses: ``given``, the card's own, or the shipped."""
    if given is not None:
        return template_info(card, given)
    if card.report is not None:  # checked when the card was loaded: inside the folder, a notebook
        return template_info(card, (card.folder / card.report.template).absolute())
    return template_info(card, default_template())


def template_record(template: ReportTemplate, sha256: str | None = None) -> dict[str, str]:
    """Return how results.json records the template that ran: name, source and SHA-256.

    ``sha256`` is the hash the run's fingerprint took (hashed now when not given).
    """
    digest = sha256 or hash_file(template.path)
    return {"name": template.name, "source": template.source, "sha256": digest}


@dataclass(frozen=True)
class Adapted:
    """What ``adapt_pilot`` did: the pilot's new template and the card line it added."""

    template: Path
    card: Path
    card_line: int

    def said(self, pilot: Path | str) -> list[str]:
        """Return what was done and what to do next, in lines for the person who asked."""
        name = self.template.name
        return [
            f"Wrote {self.template} (a copy of the shipped report template).",
            f"Added to {self.card} at line {self.card_line}: report: with template: {name}",
            f"Next: open it with `evalkit lab {pilot}`, add your cells, then "
            f"`evalkit run {pilot}`. Runs use this copy until you remove the report: lines.",
        ]


def adapt_pilot(pilot_dir: Path | str, name: str = REPORT_TEMPLATE) -> Adapted:
    """Copy the shipped report template into a pilot's folder and name it in the card.

    Refuses to replace a file that is already there, and a card that already
    names a template. The card is edited as text (two lines added at its end),
    so its comments and layout stay as written; if the card then does not load,
    both changes are undone.
    """
    card = load_pilot(pilot_dir)
    target = card.folder / name
    card_path = card.card_path
    if card.report is not None:
        raise ConfigError(
            f"the card already names a report template ({card.report.template})",
            path=card_path,
            hint="edit that notebook, or remove the report: lines to go back to the shipped one",
        )
    if Path(name).suffix != ".ipynb" or Path(name).name != name:
        raise ConfigError(
            f"'{name}' is not a notebook file name",
            hint="give a file name ending in .ipynb, e.g. my_report.ipynb",
        )
    if target.exists():
        raise ConfigError(
            "there is a file of that name in the pilot folder already; it was not replaced",
            path=target,
            hint="give another name with --name, or name that file in the card yourself: "
            f"report: {{template: {name}}}",
        )
    notebook = json.loads(default_template().read_text(encoding="utf-8"))
    notebook["cells"] = [_local_note(card), *_pointed_here(notebook["cells"])]
    text = read_card_text(card_path)
    added = ("" if text.endswith("\n") or not text else "\n") + (
        "report:                            # the pilot's own report template (evalkit adapt)\n"
        f"  template: {name}\n"
    )
    line = (text + added).count("\n") - 1  # the report: line, the last but one
    with target.open("x", encoding="utf-8") as out:  # never replaces a file made meanwhile
        out.write(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    write_atomically(card_path, text + added)
    try:
        load_pilot(card.folder)
    except EvalkitError:
        write_atomically(card_path, text)
        target.unlink()
        raise
    return Adapted(template=target, card=card_path, card_line=line)


def _pointed_here(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the cells with the parameters cell's pilot_dir set to "." (the pilot folder).

    A run gives the folder anyway; "." also works in JupyterLab opened on the
    pilot, and names no folder of this machine in the published notebook.
    """
    for cell in cells:
        tags = (cell.get("metadata") or {}).get("tags", [])
        if "parameters" in tags:
            source = cell["source"]
            lines = "".join(source if isinstance(source, list) else [str(source)]).splitlines()
            lines = ['pilot_dir = "."' if li.startswith("pilot_dir = ") else li for li in lines]
            cell["source"] = "\n".join(lines)
    return cells


def _local_note(card: PilotCard) -> dict[str, Any]:
    return {
        "cell_type": "markdown",
        "id": "evalkit-local-template",
        "metadata": {"tags": ["evalkit-help"]},
        "source": (
            f"**This pilot's own report template** (named in {CARD_FILE} under `report:`). "
            "Add cells for a local question, a subgroup or an extra chart; keep the "
            "`parameters` cell and the last cell, which writes results.json. Show subgroups "
            "with `ek.subgroup_means(analysis, by=..., outcome=...)`, which hides groups "
            f"of fewer than {card.min_cell_count} records. Cells tagged `evalkit-help`, like "
            "this one, are left out of the published report."
        ),
    }
