"""Forest plot: every pilot's estimate of one outcome with its interval, and the pooled estimate.

Rows are in place-name order, never by size of effect: this is not a league table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from evalkit.charts import NEUTRAL_COLOUR, PILOT_COLOUR

POOLED_COLOUR = "#000000"


def forest_chart(
    rows: Sequence[dict[str, Any]],
    *,
    label: str,
    unit: str = "",
    pooled: dict[str, Any] | None = None,
) -> alt.LayerChart:
    """Return a forest plot of pilots' estimates (rows in the given order) and the pooled one.

    Each row needs place, estimate, ci_low, ci_high and evidence_level; ``pooled``
    needs estimate, ci_low, ci_high and optionally pi_low, pi_high (the
    prediction interval, drawn as a thin line).
    """
    frame = pd.DataFrame(
        [
            {
                "row": f"{r['place']}" + (" (earlier cycle)" if r.get("stale") else ""),
                "estimate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "evidence": f"evidence level {r['evidence_level']}",
                "kind": "pilot",
            }
            for r in rows
        ]
    )
    order = list(frame["row"])
    frame = _open_ends_to_edge(frame)
    if pooled is not None:
        frame = pd.concat(
            [
                frame,
                pd.DataFrame(
                    [
                        {
                            "row": "All places (pooled)",
                            "estimate": pooled["estimate"],
                            "ci_low": pooled["ci_low"],
                            "ci_high": pooled["ci_high"],
                            "evidence": "random-effects",
                            "kind": "pooled",
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
        order.append("All places (pooled)")
    axis_unit = f" ({unit})" if unit else ""
    y = alt.Y("row:N", sort=order, title=None)
    x_title = f"Estimated change{axis_unit}, 95% confidence interval"
    base = alt.Chart(frame)
    zero = (
        alt.Chart(pd.DataFrame({"zero": [0.0]}))
        .mark_rule(color=NEUTRAL_COLOUR, strokeDash=[4, 4])
        .encode(x="zero:Q")
    )
    intervals = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title=x_title),
        x2="ci_high:Q",
        y=y,
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=["pilot", "pooled"], range=[PILOT_COLOUR, POOLED_COLOUR]),
            legend=None,
        ),
    )
    points = base.mark_point(filled=True, size=90).encode(
        x="estimate:Q",
        y=y,
        shape=alt.Shape(
            "kind:N",
            scale=alt.Scale(domain=["pilot", "pooled"], range=["circle", "diamond"]),
            legend=None,
        ),
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=["pilot", "pooled"], range=[PILOT_COLOUR, POOLED_COLOUR]),
            legend=None,
        ),
        tooltip=[
            "row",
            alt.Tooltip("estimate:Q", format=".3g"),
            alt.Tooltip("ci_low:Q", format=".3g"),
            alt.Tooltip("ci_high:Q", format=".3g"),
            "evidence",
        ],
    )
    evidence = base.mark_text(align="left", dx=6, dy=-9, fontSize=10, color=NEUTRAL_COLOUR).encode(
        x="ci_high:Q", y=y, text="evidence:N"
    )
    layers: list[Any] = [zero, intervals, points, evidence]
    if pooled is not None and pooled.get("pi_low") is not None:
        band = pd.DataFrame(
            [
                {
                    "row": "All places (pooled)",
                    "pi_low": pooled["pi_low"],
                    "pi_high": pooled["pi_high"],
                }
            ]
        )
        layers.insert(
            1,
            alt.Chart(band)
            .mark_rule(color=POOLED_COLOUR, strokeWidth=1, strokeDash=[2, 2])
            .encode(x="pi_low:Q", x2="pi_high:Q", y=y),
        )
    description = f"{label}: estimated change in each place with its 95% interval. " + "; ".join(
        f"{row.row}: {row.estimate:.3g} ({row.ci_low:.3g} to {row.ci_high:.3g}), {row.evidence}"
        for row in frame.itertuples()
    )
    subtitle = "Places in alphabetical order (not ranked). Bars: 95% confidence intervals."
    if pooled is not None and pooled.get("pi_low") is not None:
        subtitle += " Dotted line: where the effect in a new place could plausibly lie."
    layered: alt.LayerChart = alt.LayerChart(layer=layers)
    chart: alt.LayerChart = layered.properties(
        title=alt.TitleParams(
            f"{label}: every place's estimate", subtitle=subtitle, anchor="start"
        ),
        width=420,
        height=max(80, 34 * len(frame)),
        description=description,
    )
    return chart


def _open_ends_to_edge(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the rows with an interval end that does not exist drawn to the plot's edge.

    A place resting on too few wards may have no interval end (results.json's
    null); its line runs to the edge of what the other rows span, and its
    tooltip and the table beside the chart say there is no interval.
    """
    ends = frame[["ci_low", "ci_high"]].astype("float64")
    finite = ends.to_numpy()[np.isfinite(ends.to_numpy())]
    values = np.concatenate([finite, frame["estimate"].to_numpy(dtype="float64")])
    span = float(values.max() - values.min()) or 1.0
    low, high = float(values.min()) - span / 2, float(values.max()) + span / 2
    return frame.assign(
        ci_low=ends["ci_low"].where(np.isfinite(ends["ci_low"]), low),
        ci_high=ends["ci_high"].where(np.isfinite(ends["ci_high"]), high),
    )
