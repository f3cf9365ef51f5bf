"""What a comparison run writes: comparison.json, for the centre's own tools.

The comparison template calls ``write_comparison``; running the template,
and publishing its HTML beside this file, is ``evalkit.runner.comparison``'s.
"""

from __future__ import annotations

import json
from pathlib import Path

from evalkit.atomic import write_atomically
from evalkit.compare import Comparison

COMPARISON_JSON = "comparison.json"


def write_comparison(comparison: Comparison, output_dir: Path | str) -> Path:
    """Write comparison.json atomically into ``output_dir``; return its path."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    text = json.dumps(comparison.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"
    return write_atomically(output / COMPARISON_JSON, text)
