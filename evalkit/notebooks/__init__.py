"""Notebooks: the only room that imports papermill, nbconvert and jupyter.

The rooms: :mod:`~evalkit.notebooks.execute` (run a template with papermill),
:mod:`~evalkit.notebooks.export` (HTML and PDF), :mod:`~evalkit.notebooks.lab`
(JupyterLab on a pilot), :mod:`~evalkit.notebooks.kernels` (a pilot's kernel:
private sockets, a log, a deadline) and :mod:`~evalkit.notebooks.kernel_factory`
(forking kernels from a process that has imported a template's modules once).

The names below load on first use: a worker imports the kernel factory,
which uses the standard library only, before anything heavier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit._lazy import lazy_exports

_EXPORTS = {
    "TEMPLATES": "evalkit.notebooks.execute",
    "CurrentPythonKernelManager": "evalkit.notebooks.execute",
    "Executed": "evalkit.notebooks.execute",
    "execute_report": "evalkit.notebooks.execute",
    "execute_template": "evalkit.notebooks.execute",
    "template_path": "evalkit.notebooks.execute",
    "CHROMIUM_FLAGS": "evalkit.notebooks.export",
    "HTML_TEMPLATE_DIR": "evalkit.notebooks.export",
    "default_pdf_path": "evalkit.notebooks.export",
    "export_html": "evalkit.notebooks.export",
    "export_pdf": "evalkit.notebooks.export",
    "in_replaced_folder": "evalkit.notebooks.export",
    "LabCommand": "evalkit.notebooks.lab",
    "lab_command": "evalkit.notebooks.lab",
}

__all__ = [
    "CHROMIUM_FLAGS",
    "HTML_TEMPLATE_DIR",
    "TEMPLATES",
    "CurrentPythonKernelManager",
    "Executed",
    "LabCommand",
    "default_pdf_path",
    "execute_report",
    "execute_template",
    "export_html",
    "export_pdf",
    "in_replaced_folder",
    "lab_command",
    "template_path",
]

if TYPE_CHECKING:
    from evalkit.notebooks.execute import (
        TEMPLATES,
        CurrentPythonKernelManager,
        Executed,
        execute_report,
        execute_template,
        template_path,
    )
    from evalkit.notebooks.export import (
        CHROMIUM_FLAGS,
        HTML_TEMPLATE_DIR,
        default_pdf_path,
        export_html,
        export_pdf,
        in_replaced_folder,
    )
    from evalkit.notebooks.lab import LabCommand, lab_command


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
