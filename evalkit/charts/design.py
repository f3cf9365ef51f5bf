"""The chart each kind of design figure data calls for: an ITS counterfactual, an event study.

A design's estimator returns its figure's data beside its finding
(:class:`evalkit.estimate.registry.Estimated`); the report draws it here, by
the data's type, without estimating anything again. A new kind of figure data
registers its drawing with :func:`register_chart`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evalkit.card import Outcome
from evalkit.charts import Figure, figure
from evalkit.charts.event_study import event_study_chart
from evalkit.charts.its import its_chart
from evalkit.estimate.its import ItsChartData
from evalkit.estimate.panel import EventStudy

Draw = Callable[[Any, Outcome], Any]

_DRAWINGS: dict[type, Draw] = {
    ItsChartData: lambda data, outcome: its_chart(data, label=outcome.name, unit=outcome.unit),
    EventStudy: lambda data, outcome: event_study_chart(
        data, label=outcome.name, unit=outcome.unit
    ),
}


def register_chart(kind: type, draw: Draw) -> None:
    """Say how figure data of type ``kind`` is drawn: ``draw(data, outcome)`` gives a chart."""
    _DRAWINGS[kind] = draw


def design_chart(data: object, outcome: Outcome) -> Figure | None:
    """Return the chart for one outcome's design figure data, or None for a kind not drawn."""
    draw = _DRAWINGS.get(type(data))
    return figure(draw(data, outcome)) if draw is not None else None
