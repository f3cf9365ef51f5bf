"""Opening JupyterLab on a pilot, with copies of the templates pointed at it.

JupyterLab runs as a child of evalkit: a SIGTERM or Ctrl-C to evalkit is passed
on to it, and a server that has not stopped after a grace period is killed,
so stopping evalkit never leaves a server running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import nbformat

from evalkit.notebooks.execute import TEMPLATES


@dataclass(frozen=True)
class LabCommand:
    """The JupyterLab command evalkit would start, and where."""

    args: tuple[str, ...]
    cwd: Path
    #: what evalkit added on the person's behalf, as sentences to show before starting
    notes: tuple[str, ...] = ()

    def run(self, *, grace: float = 10.0) -> int:
        """Run JupyterLab until it stops; return its exit code (128 + N if killed by signal N).

        SIGTERM or SIGINT to this process is passed on to JupyterLab as
        SIGTERM (its clean shutdown, with no "are you sure?" prompt); if it has
        not stopped ``grace`` seconds later it is killed.
        """
        child = subprocess.Popen(list(self.args), cwd=self.cwd)
        stop_asked: list[float] = []

        def forward(signum: int, frame: FrameType | None) -> None:
            if not stop_asked:
                stop_asked.append(time.monotonic())
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

        previous = {}
        # handlers can be set only in the main thread (not when called from a notebook's thread)
        if threading.current_thread() is threading.main_thread():
            previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while True:
                try:
                    code = child.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    if stop_asked and time.monotonic() - stop_asked[0] > grace:
                        child.kill()
                        code = child.wait()
                        break
        except BaseException:  # anything else that ends evalkit ends the server with it
            if child.poll() is None:
                child.kill()
                child.wait()
            raise
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        return 128 - code if code < 0 else code


def lab_command(
    pilot_dir: Path | None,
    *,
    open_browser: bool = True,
    extra_args: Sequence[str] = (),
    as_root: bool | None = None,
) -> LabCommand:
    """Return the command that opens JupyterLab on a pilot with the templates copied in.

    The templates are copied into the pilot's ``notebooks/`` folder (never over
    a copy the team has already changed), so a local evaluator can adapt a
    copy for a local question while the originals stay as they are.
    ``extra_args`` are passed to JupyterLab as they are (``--port 8899``).
    Run as root (``as_root``; by default, whether this process is), JupyterLab
    refuses to start without ``--allow-root``: it is added, and said in ``notes``.
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
    args += extra_args
    notes = []
    root = as_root if as_root is not None else hasattr(os, "geteuid") and os.geteuid() == 0
    if root and not any(a == "--allow-root" or a.startswith("--allow-root=") for a in extra_args):
        # in a container people often are root; JupyterLab would stop at once without it
        args.append("--allow-root")
        notes.append("Running as root: adding --allow-root, which JupyterLab needs to start.")
    return LabCommand(tuple(args), folder.resolve(), tuple(notes))


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
