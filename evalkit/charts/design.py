"""A design's own figure, drawn from the data its estimate returned: no estimating again.

A design's estimator returns its figure's data beside its finding
(:class:`evalkit.estimate.registry.Estimated`), and its registry entry names
the builder that draws it (``Design.chart``, "module:function"; the builder
takes the data, ``label`` and ``unit`` and returns an altair chart, or a list of
them when the design draws several, such as a synthetic comparison's three). The
builder is imported only when a figure is drawn, so a design module names its
chart without importing this layer.
"""

from __future__ import annotations

import importlib

from evalkit.card import Outcome
from evalkit.charts import Figure, figure
from evalkit.estimate.registry import Design


def design_chart(design: Design, data: object, outcome: Outcome) -> list[Figure]:
    """Return one outcome's design figures, drawn by the builder the design names."""
    if design.chart is None:
        raise ValueError(f"design '{design.name}' returned figure data but names no chart")
    module, _, name = design.chart.partition(":")
    draw = getattr(importlib.import_module(module), name)
    drawn = draw(data, label=outcome.name, unit=outcome.unit)
    return [figure(chart) for chart in (drawn if isinstance(drawn, list | tuple) else [drawn])]
