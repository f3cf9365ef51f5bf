"""Running the central comparison: its template executed, checked, and published whole.

The template (``central_comparison.ipynb``) builds the comparison and writes
comparison.json (``evalkit.compare.run.write_comparison``); this runs it in a
hidden folder beside the output, exports the HTML, refuses a comparison that
states a small count or names a folder of this machine, and only then moves
the three files into place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from evalkit.card import DEFAULT_MIN_CELL_COUNT
from evalkit.compare import COMPARISON_SCHEMA_VERSION
from evalkit.compare.run import COMPARISON_JSON
from evalkit.errors import DataError

COMPARISON_TEMPLATE = "central_comparison.ipynb"


def run_comparison(
    pilots_dir: Path | str, out_dir: Path | str, *, timeout: float | None = None
) -> tuple[Path, list[str]]:
    """Run the comparison template; write comparison.html, .ipynb and .json into ``out_dir``.

    Returns the output folder and the warnings (pilots missing or unreadable).
    Files are written beside each other in a temporary folder and moved into
    ``out_dir`` only when all succeeded.
    """
    from evalkit.notebooks import execute_template, export_html, template_path

    pilots = Path(pilots_dir).resolve()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=out, prefix=".comparison-partial-"))
    try:
        notebook = execute_template(
            template_path(COMPARISON_TEMPLATE),
            partial / "comparison.ipynb",
            {"pilots_dir": str(pilots), "output_dir": str(partial.resolve())},
            cwd=pilots,
            timeout=timeout,
        )
        written = json.loads((partial / COMPARISON_JSON).read_text(encoding="utf-8"))
        if written.get("schema_version") != COMPARISON_SCHEMA_VERSION:
            raise DataError(
                "the comparison template wrote an unexpected comparison.json",
                path=partial / COMPARISON_JSON,
            )
        export_html(notebook, partial / "comparison.html")
        check_publishable(partial, pilots, written)
        for name in ("comparison.ipynb", "comparison.html", COMPARISON_JSON):
            os.replace(partial / name, out / name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out, list(written.get("warnings", []))


def check_publishable(partial: Path, pilots: Path, written: dict[str, Any]) -> None:
    """Refuse to publish a comparison that states a small count or names a folder here."""
    from evalkit.quality.published import disclosure_problems, refuse_if_disclosive, this_machine

    names = ("comparison.html", "comparison.ipynb", COMPARISON_JSON)
    # the strictest of the pilots' thresholds: the comparison publishes every pilot's words
    threshold = max(
        (p.get("min_cell_count", DEFAULT_MIN_CELL_COUNT) for p in written.get("pilots", [])),
        default=DEFAULT_MIN_CELL_COUNT,
    )
    problems = disclosure_problems(
        [partial / name for name in names],
        threshold=threshold,
        machine_paths=this_machine(pilots, partial),
    )
    refuse_if_disclosive(
        "comparison",
        partial,
        problems,
        hint="reword the learning-log text named (a blocker, a decision) without the count; "
        "the previous comparison is still in place",
    )
