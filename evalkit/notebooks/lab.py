"""Opening JupyterLab on a pilot, with copies of the templates pointed at it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from evalkit.notebooks.execute import TEMPLATES


@dataclass(frozen=True)
class LabCommand:
    """The JupyterLab command evalkit would start, and where."""

    args: tuple[str, ...]
    cwd: Path

    def run(self) -> int:
        """Run JupyterLab until it is stopped; return its exit code."""
        return subprocess.call(list(self.args), cwd=self.cwd)


def lab_command(pilot_dir: Path | None, *, open_browser: bool = True) -> LabCommand:
    """Return the command that opens JupyterLab on a pilot with the templates copied in.

    The templates are copied into the pilot's ``notebooks/`` folder (never over
    a copy the team has already changed), so a local evaluator can adapt a
    copy for a local question while the originals stay as they are.
    """
    from evalkit.card import load_pilot

    folder = Path.cwd() if pilot_dir is None else Path(pilot_dir)
    if pilot_dir is not None:
        card = load_pilot(folder)
        local = card.folder / "notebooks"
        local.mkdir(exist_ok=True)
        for template in sorted(TEMPLATES.glob("*.ipynb")):
            target = local / template.name
            if not target.exists():
                nb = nbformat.read(template, as_version=4)  # type: ignore[no-untyped-call]
                for cell in nb.cells:
                    if "parameters" in cell.get("metadata", {}).get("tags", []):
                        cell.source = _point_at(cell.source, card.folder.resolve())
                nbformat.write(nb, target)  # type: ignore[no-untyped-call]
        folder = card.folder
    args = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={folder.resolve()}"]
    if not open_browser:
        args.append("--no-browser")
    return LabCommand(tuple(args), folder.resolve())


def _point_at(source: str, pilot: Path) -> str:
    """Return a parameters cell with its pilot folder set to ``pilot``."""
    lines = []
    for line in source.splitlines():
        if line.startswith("pilot_dir = "):
            line = f'pilot_dir = "{pilot}"'
        elif line.startswith("pilots_dir = "):
            line = f'pilots_dir = "{pilot.parent}"'
        lines.append(line)
    return "\n".join(lines)
