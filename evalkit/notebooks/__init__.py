"""Executing report templates: the only module that imports papermill.

Templates run in a kernel started from the running interpreter, so a report
uses the same evalkit and packages as the command that asked for it, in any
virtual environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from evalkit import errors
from evalkit.markup import unplain

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HTML_TEMPLATE_DIR = Path(__file__).resolve().parent / "report_template"


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
        _drop_stderr(nb)
    record = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if record.get(key):
            record[key] = Path(str(record[key])).name
    nbformat.write(nb, notebook)  # type: ignore[no-untyped-call]


def export_html(notebook: Path, html: Path, *, title: str | None = None) -> Path:
    """Write a notebook as a single offline HTML page with code hidden; return its path.

    Every output is passed through evalkit's sanitiser and the page carries a
    Content-Security-Policy that forbids scripts and fetches (evalkit.markup).
    """
    from nbconvert import HTMLExporter

    from evalkit.markup import CONTENT_SECURITY_POLICY, clean_html

    nb = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    _drop_stderr(nb)
    nb.cells = [c for c in nb.cells if "evalkit-help" not in c.get("metadata", {}).get("tags", [])]
    nb.metadata["title"] = title or _first_heading(nb) or notebook.stem
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="evalkit",
        extra_template_basedirs=[str(HTML_TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        # nbconvert's sanitising path, with its bleach cleaner replaced by evalkit's allowlist
        sanitize_html=True,
        filters={"clean_html": clean_html},
    )
    body, _ = exporter.from_notebook_node(nb, resources={"evalkit_csp": CONTENT_SECURITY_POLICY})
    html.write_text(body, encoding="utf-8")
    return html


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


#: Flags for headless Chromium on a closed network (no background calls home).
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def export_pdf(html: Path, pdf: Path, *, browser: str | None = None) -> Path:
    """Print a report to PDF with headless Chromium (its print stylesheet applies)."""
    import shutil
    import tempfile

    chromium = browser or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise errors.NotebookError(
            "a PDF needs Chromium, which is not installed",
            path=html,
            hint="install it (Debian: apt-get install chromium) or print report.html from a "
            "browser",
        )
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-pdf-header-footer",
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--print-to-pdf={pdf.resolve()}",
                html.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0 or not pdf.is_file():
        raise errors.NotebookError(
            f"Chromium could not print the report (exit {done.returncode})",
            path=html,
            hint=done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "",
        )
    return pdf


def _first_heading(nb: Any) -> str:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown", "")
            for line in str(text).splitlines():
                if line.startswith("# "):
                    return unplain(line[2:].strip())
    return ""


def _drop_stderr(nb: Any) -> None:
    """Remove what cells printed to stderr: warnings are for a report's author, not its readers."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                out
                for out in cell.get("outputs", [])
                if not (out.get("output_type") == "stream" and out.get("name") == "stderr")
            ]
