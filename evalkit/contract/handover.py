"""A run's validated data, handed to its report's kernel so the data are checked once.

``evalkit run`` validates a pilot's data before a kernel starts, so a pilot
with bad data stops in a fraction of a second. It then writes that
:class:`~evalkit.contract.Validation` to a private temporary file (a folder
only this user can open: it holds record-level data) and passes the file's
path to the report template as its ``validation_file`` parameter; the
template reads it back with :func:`read_validation` and hands it to
``analyse_pilot``. Run on its own (JupyterLab, plain papermill), the template
has no file and validates the data itself. The published report.ipynb shows
the parameter as None (``evalkit.notebooks.execute``): it names no file of this run.

The file is a pickle, which runs code as it loads: it is read only from the
path the run passed, in a folder no other user can write to, and removed when
the run ends.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from evalkit.contract import Validation
from evalkit.errors import NotebookError

VALIDATION_FILE = "validation.pickle"


@contextlib.contextmanager
def handed_over(validation: Validation, kernel_dir: Path) -> Iterator[Path]:
    """Write a validation for a kernel working in ``kernel_dir``; yield the file; remove it.

    The card's folder and the data file's path are rewritten relative to
    ``kernel_dir``, as the kernel would have found them itself, so a report
    names no folder of this machine.
    """
    folder = Path(tempfile.mkdtemp(prefix="evalkit-handover-"))  # mode 0700: this user only
    try:
        path = folder / VALIDATION_FILE
        with path.open("xb") as out:
            pickle.dump(_seen_from(validation, kernel_dir), out, protocol=pickle.HIGHEST_PROTOCOL)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_validation(path: Path | str | None) -> Validation | None:
    """Return the validation a run handed over in ``path``; None when there is none (no run)."""
    if path is None:
        return None
    try:
        with Path(path).open("rb") as handle:
            validation = pickle.load(handle)  # written by this user's run: see above
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise NotebookError(
            f"the validated data handed over by the run cannot be read: {exc}",
            path=Path(path),
            hint="run the pilot again; to run the template on its own, leave validation_file None",
        ) from None
    if not isinstance(validation, Validation):
        raise NotebookError(
            "the file handed over by the run holds no validated data", path=Path(path)
        )
    return validation


def _seen_from(validation: Validation, kernel_dir: Path) -> Validation:
    """Return the validation with its card's folder and data path relative to ``kernel_dir``."""
    card = validation.card
    folder = Path(os.path.relpath(card.folder.resolve(), kernel_dir.resolve()))
    data = folder / os.path.relpath(validation.path, card.folder)
    return replace(validation, card=card.model_copy(update={"folder": folder}), path=data)
