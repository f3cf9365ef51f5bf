"""Exporting an executed notebook: one offline HTML page, or a PDF printed by Chromium.

The HTML has the code hidden, every output passed through evalkit's
sanitiser and a Content-Security-Policy that forbids scripts and fetches
(``evalkit.markup``); cells tagged ``evalkit-help`` and what cells printed to
stderr are left out.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import nbformat

from evalkit import errors
from evalkit.markup import unplain

HTML_TEMPLATE_DIR = Path(__file__).resolve().parent / "report_template"


def export_html(notebook: Path, html: Path, *, title: str | None = None) -> Path:
    """Write a notebook as a single offline HTML page with code hidden; return its path.

    Every output is passed through evalkit's sanitiser and the page carries a
    Content-Security-Policy that forbids scripts and fetches (evalkit.markup).
    """
    from nbconvert import HTMLExporter

    from evalkit.markup import CONTENT_SECURITY_POLICY, clean_html

    nb = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    drop_stderr(nb)
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


#: Printed on A4 unless the page says otherwise: put first, so a page's own ``@page`` wins.
A4_PAGE = "<style>@page { size: A4; margin: 15mm; }</style>"
_CYCLE_FOLDER = re.compile(r"cycle-\d+")


def default_pdf_path(html: Path) -> Path:
    """Return where a report's PDF goes by default: beside it, or beside the folder a run replaces.

    A pilot's report lives in ``reports/cycle-<n>/``, which the next run of that
    cycle replaces whole; its PDF is written beside that folder instead, as
    ``reports/cycle-<n>-report.pdf``, so it outlives the next run.
    """
    if in_replaced_folder(html):
        return html.parent.parent / f"{html.parent.name}-{html.stem}.pdf"
    return html.with_suffix(".pdf")


def in_replaced_folder(path: Path) -> bool:
    """Return True when ``path`` is inside a ``reports/cycle-<n>/`` folder that runs replace."""
    folder = path.resolve().parent
    return folder.parent.name == "reports" and bool(_CYCLE_FOLDER.fullmatch(folder.name))


def export_pdf(html: Path, pdf: Path, *, browser: str | None = None) -> Path:
    """Print a report to PDF with headless Chromium, on A4 (its print stylesheet applies).

    Chromium prints on US Letter unless the page names a size; a copy of the
    page with an A4 ``@page`` rule ahead of its own styles is printed, so any
    page size the HTML sets itself still wins. The report is never changed.
    """
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
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        page = _a4_copy(html, Path(scratch))
        profile = Path(scratch) / "profile"
        done = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-pdf-header-footer",
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--print-to-pdf={pdf.resolve()}",
                page.as_uri(),
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


def _a4_copy(html: Path, folder: Path) -> Path:
    """Write a copy of a page into ``folder`` with the A4 rule first in its head; return it.

    evalkit's pages are self-contained (images embedded, fetches forbidden), so
    the copy prints as the page does.
    """
    text = html.read_text(encoding="utf-8", errors="replace")
    head = re.search(r"<head[^>]*>", text, re.IGNORECASE)
    at = head.end() if head else 0
    copy = folder / "page.html"
    copy.write_text(text[:at] + A4_PAGE + text[at:], encoding="utf-8")
    return copy


def _first_heading(nb: Any) -> str:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown", "")
            for line in str(text).splitlines():
                if line.startswith("# "):
                    return unplain(line[2:].strip())
    return ""


def drop_stderr(nb: Any) -> None:
    """Remove what cells printed to stderr: warnings are for a report's author, not its readers."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                out
                for out in cell.get("outputs", [])
                if not (out.get("output_type") == "stream" and out.get("name") == "stderr")
            ]
