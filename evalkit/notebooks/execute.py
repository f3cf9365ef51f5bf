"""Executing notebook templates with papermill: the only module that imports papermill.

Templates run in a kernel started from the running interpreter, so a report
uses the same evalkit and packages as the command that asked for it, in any
virtual environment. An error evalkit raises inside a template comes back as
the same kind of error; the partial notebook is kept.

:func:`execute_report` is what a pilot's run calls: a kernel from the kernel
factory first, an ordinary new one if that does not start, and the time the
cells took (papermill's record in each cell) for the run's timings.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from evalkit import errors
from evalkit.notebooks.export import drop_stderr

#: The notebook templates shipped inside the package.
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class CurrentPythonKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is this interpreter's ipykernel, whatever is installed."""

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(
            argv=[
                sys.executable,
                "-m",
                "ipykernel_launcher",
                "-f",
                "{connection_file}",
                "--IPKernelApp.log_level=ERROR",
            ],
            display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (evalkit)",
            language="python",
            metadata={"debugger": False},
        )


def template_path(name: str) -> Path:
    """Return the path of a notebook template shipped with evalkit."""
    path = TEMPLATES / name
    if not path.is_file():
        raise errors.NotebookError(
            "the report template is not where evalkit expects it",
            path=path,
            hint="install evalkit from its source folder with `pip install -e .`",
        )
    return path


@dataclass(frozen=True)
class Executed:
    """A report notebook that ran: where it is and how many seconds its cells took."""

    notebook: Path
    cell_seconds: float


def execute_report(
    template: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path,
    log: Path,
    timeout: float | None = None,
    deadline: float | None = None,
    preload: tuple[str, ...] = (),
    private: Collection[str] = (),
) -> Executed:
    """Run a pilot's report into ``output`` and return it; a kernel that fails to start is retried.

    ``log`` receives the kernel's own messages; ``deadline`` (``time.monotonic``)
    holds the whole report to ``timeout``; ``private`` parameters are for the
    kernel only and are left out of the notebook written (see execute_template).
    """
    from nbclient.exceptions import DeadKernelError

    from evalkit.notebooks.kernel_factory import FORKING
    from evalkit.notebooks.kernels import KernelOptions, kernel_manager_for

    # first a kernel from the kernel factory; if it does not start, an ordinary new one
    attempts = (FORKING, False)
    for attempt, fork in enumerate(attempts):
        manager, watch = kernel_manager_for(
            KernelOptions(fork=fork, deadline=deadline, log=log, preload=preload)
        )
        try:
            notebook = execute_template(
                template,
                output,
                parameters,
                cwd=cwd,
                # papermill takes whole seconds a cell; the deadline holds the whole report to
                # the exact timeout
                timeout=math.ceil(timeout) if timeout else None,
                kernel_manager_class=manager,
                private=private,
            )
            return Executed(notebook, _cell_seconds(notebook))
        except Exception as exc:
            if watch.timed_out:
                raise errors.NotebookError(
                    f"the report template ran for longer than {timeout} seconds",
                    path=output,
                    hint="raise --timeout, or check for a cell stuck on input",
                ) from None
            if isinstance(exc, errors.EvalkitError):
                raise
            if attempt < len(attempts) - 1 and not _any_cell_ran(output):
                continue
            said = "stopped" if isinstance(exc, DeadKernelError) else "failed"
            raise errors.NotebookError(
                f"the report's kernel {said} ({type(exc).__name__}: {exc})",
                path=output if output.exists() else None,
                hint=f"it may have run out of memory; its own messages are in {log.name}",
            ) from None
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def execute_template(
    template: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path | None = None,
    timeout: float | None = None,
    kernel_manager_class: type[AsyncKernelManager] = CurrentPythonKernelManager,
    private: Collection[str] = (),
) -> Path:
    """Run a template with papermill into ``output``; raise the library's error if a cell fails.

    An error raised by evalkit inside the notebook comes back as the same kind
    of error with its message, so the person sees the data problem, not a
    notebook traceback. The partial notebook is kept at ``output``. The
    ``private`` parameters reach the kernel but the notebook written shows them
    as None: they name files of this run (a temporary file's path), not what a
    reader of the report needs.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    # a published notebook names no folder of this machine: paths are given relative to the
    # kernel's folder, and papermill's record of its input and output keeps only file names
    parameters = {key: _relative(value, cwd) for key, value in parameters.items()}
    succeeded = False
    try:
        papermill.execute_notebook(
            str(template),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            kernel_manager_class=kernel_manager_class,
            progress_bar=False,
            cwd=str(cwd) if cwd else None,
            execution_timeout=timeout,
        )
        succeeded = True
    except PapermillExecutionError as exc:
        kind = getattr(errors, exc.ename, None)
        if isinstance(kind, type) and issubclass(kind, errors.EvalkitError):
            raise kind(str(exc.evalue)) from None
        raise errors.NotebookError(
            f"the report template failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}",
            path=output,
            hint="open the partial notebook to see the failing cell",
        ) from None
    except TimeoutError as exc:
        raise errors.NotebookError(
            f"the report template ran for longer than {timeout} seconds",
            path=output,
            hint="raise --timeout, or check for a cell stuck on input",
        ) from exc
    finally:
        # a failed notebook keeps its warnings (it is for fixing, not publishing)
        _forget_paths(output, drop_warnings=succeeded, private=private, folder=cwd)
    return output


def _relative(value: Any, cwd: Path | None) -> Any:
    """Return a path parameter relative to the kernel's folder; other values as they are."""
    if not isinstance(value, str) or cwd is None or not Path(value).is_absolute():
        return value
    return os.path.relpath(value, Path(cwd).resolve())


def _forget_paths(
    notebook: Path,
    *,
    drop_warnings: bool,
    private: Collection[str] = (),
    folder: Path | None = None,
) -> None:
    """Keep only file names in papermill's record of where a notebook came from and went.

    A template's own parameters cell that names the kernel's ``folder`` (a copy
    ``evalkit lab`` pointed at the pilot, adapted as the pilot's own template)
    names it as ".", as the parameters given to the run do.

    With ``drop_warnings``, what cells printed to stderr goes too: warnings are for
    the report's author, and name the machine's folders (site-packages). The
    ``private`` parameters are shown as None, in the injected cell and in the record.
    """
    if not notebook.is_file():
        return
    nb = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    if drop_warnings:
        drop_stderr(nb)
    if folder is not None:
        here = str(Path(folder).resolve())
        for cell in nb.cells:
            if "parameters" in cell.metadata.get("tags", []) and here in cell.source:
                cell.source = cell.source.replace(f'"{here}"', '"."').replace(here, ".")
    record = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if record.get(key):
            record[key] = Path(str(record[key])).name
    if private and record.get("parameters"):
        _hide_parameters(
            nb,
            {key: None if key in private else value for key, value in record["parameters"].items()},
        )
    nbformat.write(nb, notebook)  # type: ignore[no-untyped-call]


def _hide_parameters(nb: Any, shown: dict[str, Any]) -> None:
    """Write the injected-parameters cell and papermill's record again with ``shown`` values."""
    from papermill.translators import translate_parameters

    nb.metadata["papermill"]["parameters"] = shown
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
            language = nb.metadata.get("kernelspec", {}).get("language", "python")
            cell.source = translate_parameters(kernel, language, shown, "Parameters")


def _any_cell_ran(notebook: Path) -> bool:
    """Return whether papermill started any cell of a (partial) output notebook."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return False
    return any(cell.get("metadata", {}).get("papermill", {}).get("start_time") for cell in cells)


def _cell_seconds(notebook: Path) -> float:
    """Return the seconds the cells of an executed notebook took, by papermill's record."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        return float(
            sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0 for c in cells)
        )
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0
