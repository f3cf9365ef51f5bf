"""Drawing a vega-lite spec as SVG, once: the same spec is never rendered twice.

A report draws each chart as designed and again laid out for a narrow screen,
and a pilot whose data have not changed draws the same charts on every run
(``--force``, the learning review, the tests). Rendering is the slow part
(0.2-1 s a chart with vl-convert), so each SVG is kept in a cache folder under
the SHA-256 of the spec and the renderer's versions: the same spec, drawn by
the same vl-convert and vega-lite, is the same picture. The cache folder is
``$EVALKIT_CHART_CACHE``, else ``$XDG_CACHE_HOME/evalkit/charts`` (``~/.cache``
by default), readable by its owner only; ``EVALKIT_CHART_CACHE=`` (empty)
turns it off. A folder that cannot be written is simply not used. What it
holds is what the reports show: charts of published, disclosure-checked
figures, never rows of data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import altair as alt

#: The environment variable naming the cache folder ("" turns the cache off).
CACHE_VARIABLE = "EVALKIT_CHART_CACHE"


def render_svg(spec: dict[str, Any]) -> str:
    """Return ``spec`` drawn as an SVG document, from the cache when it was drawn before."""
    import vl_convert

    version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    known = vl_convert.get_vegalite_versions()
    chosen = version if version in known else None
    folder = cache_folder()
    path = None
    if folder is not None:
        drawn_by = getattr(vl_convert, "__version__", "")
        key = json.dumps([drawn_by, chosen, spec], sort_keys=True, default=str)
        path = folder / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()}.svg"
        with contextlib.suppress(OSError):
            return path.read_text(encoding="utf-8")
    svg = str(vl_convert.vegalite_to_svg(spec, vl_version=chosen))
    if path is not None:
        _keep(path, svg)
    return svg


def cache_folder() -> Path | None:
    """Return the folder charts are cached in, made if need be; None when off or unwritable."""
    named = os.environ.get(CACHE_VARIABLE)
    if named is not None and not named.strip():
        return None
    if named:
        folder = Path(named)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "evalkit" / "charts"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def _keep(path: Path, svg: str) -> None:
    """Write one SVG into the cache whole (a reader never sees half of one), or not at all."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(svg)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)
