"""Executing notebook templates with papermill: the only module that imports papermill.

Templates run in a kernel started from the running interpreter, so a report
uses the same evalkit and packages as the command that asked for it, in any
virtual environment. An error evalkit raises inside a template comes back as
the same kind of error; the partial notebook is kept.
"""

from __future__ import annotations

import os
import sys
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


def execute_template(
    template: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path | None = None,
    timeout: float | None = None,
    kernel_manager_class: type[AsyncKernelManager] = CurrentPythonKernelManager,
) -> Path:
    """Run a template with papermill into ``output``; raise the library's error if a cell fails.

    An error raised by evalkit inside the notebook comes back as the same kind
    of error with its message, so the person sees the data problem, not a
    notebook traceback. The partial notebook is kept at ``output``.
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
        _forget_paths(output, drop_warnings=succeeded)
    return output


def _relative(value: Any, cwd: Path | None) -> Any:
    """Return a path parameter relative to the kernel's folder; other values as they are."""
    if not isinstance(value, str) or cwd is None or not Path(value).is_absolute():
        return value
    return os.path.relpath(value, Path(cwd).resolve())


def _forget_paths(notebook: Path, *, drop_warnings: bool) -> None:
    """Keep only file names in papermill's record of where a notebook came from and went.

    With ``drop_warnings``, what cells printed to stderr goes too: warnings are for
    the report's author, and name the machine's folders (site-packages).
    """
    if not notebook.is_file():
        return
    nb = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    if drop_warnings:
        drop_stderr(nb)
    record = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if record.get(key):
            record[key] = Path(str(record[key])).name
    nbformat.write(nb, notebook)  # type: ignore[no-untyped-call]
