"""analyse_pilot computes every number and figure's data once; the report's views only format.

The report template's own code cells are run here in this process (as the
kernel runs them), with every estimator counted: each outcome is estimated
once, and drawing the design's figures estimates nothing again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalkit.charts import Figure
from evalkit.estimate import its, outcomes, panel, synthetic

from .conftest import REPO

TEMPLATE = REPO / "evalkit" / "templates" / "pilot_report.ipynb"

#: The estimators a design's estimate calls, by the module whose global name it uses.
COUNTED = {
    "its fit": (its, "_fit_its"),
    "panel fit": (panel, "read_panel"),
    "linear fit": (outcomes, "_fit_linear"),
    "ratio fit": (outcomes, "fit_ratio"),
    "its ratio fit": (its, "fit_ratio"),
    "synthetic fit": (synthetic, "fit_places"),
}

#: Example pilot -> the estimators each of its outcomes runs once, and no others.
ONCE_PER_OUTCOME = {
    "westmere-social-work": {"its fit"},
    "dunmore-family-hubs": {"panel fit"},
    "northbridge-ta": {"linear fit"},
    "hollins-vale-navigators": {"linear fit"},
    "harrowfield-prevention": {"synthetic fit"},
}


def run_template_cells(pilot: Path, shown: list[Any]) -> dict[str, Any]:
    """Run the report template's code cells in this process and return its namespace.

    What the cells display is added to ``shown`` (IPython's display is replaced).
    """
    import IPython.display

    IPython.display.display = lambda *objects, **_: shown.extend(objects)  # type: ignore[assignment]
    cells = json.loads(TEMPLATE.read_text(encoding="utf-8"))["cells"]
    namespace: dict[str, Any] = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            exec(source, namespace)
            namespace.update(pilot_dir=str(pilot), output_dir=None)
            continue
        exec(source, namespace)
    return namespace


@pytest.mark.parametrize("pilot", sorted(ONCE_PER_OUTCOME))
def test_a_report_estimates_each_outcome_once(pilot: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", IPython.display.display)
    calls: Counter[str] = Counter()

    def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    for name, (module, attribute) in COUNTED.items():
        monkeypatch.setattr(module, attribute, counted(name, getattr(module, attribute)))

    shown: list[Any] = []
    namespace = run_template_cells(REPO / "pilots" / pilot, shown)

    analysis = namespace["analysis"]
    n = len(analysis.card.outcomes)
    for name in ONCE_PER_OUTCOME[pilot]:
        assert calls[name] == n, (name, dict(calls))
    # a count or yes/no outcome adds its ratio fit, once (a panel reports mean differences)
    ratios = sum(o.type != "continuous" for o in analysis.card.outcomes)
    panels = {"panel fit", "synthetic fit"}  # a panel of places reports mean differences
    expected = 0 if panels & ONCE_PER_OUTCOME[pilot] else ratios
    assert calls["ratio fit"] + calls["its ratio fit"] == expected, dict(calls)
    others = set(calls) - ONCE_PER_OUTCOME[pilot] - {"ratio fit", "its ratio fit"}
    assert not others, dict(calls)
    # the views drew the design's figures from the analysis, not from a new fit
    if pilot in ("westmere-social-work", "dunmore-family-hubs", "harrowfield-prevention"):
        assert set(analysis.figures) == {o.column for o in analysis.card.outcomes}
    texts = [str(getattr(item, "data", "")) for item in shown]
    assert any(text.startswith("## What we found") for text in texts)
    drawn = [item for item in shown if isinstance(item, Figure)]
    assert len(drawn) >= 1 + len(analysis.figures)  # the effects chart and the design's own
