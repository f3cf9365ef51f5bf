"""Time what a pilot's report computes, now that figures come from the analysis (#14).

Run from the repository root:

    python benchmarks/bench_report.py [--pilot pilots/westmere-social-work] [--repeats 3]

In one process, each path is timed as the best of ``--repeats`` runs
(``time.perf_counter``) on an example pilot:

- **now**: what the report template does: ``analyse_pilot`` (validate,
  estimate each outcome once with its figure's data, rate, signal), every
  report section, and the design's figures drawn to SVG from the analysis;
- **before**: the same, plus what the views did until #14: each design figure's
  data estimated again (``its_chart_data`` re-fits the interrupted time series
  with its 9,999 bootstrap draws; ``event_study`` re-runs the panel estimator).

It prints the seconds of each and the ratio before / now, and exits 1 if the
figures drawn differ between the two paths. It prints numbers only; it is not
a pytest test.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalkit.analysis import Analysis, analyse_pilot
from evalkit.charts import effects_chart, figure
from evalkit.charts.design import design_chart
from evalkit.estimate.its import its_chart_data
from evalkit.estimate.panel import event_study
from evalkit.estimate.registry import design_of
from evalkit.report import sections


def views(analysis: Analysis) -> None:
    """Run every section the report template shows."""
    entry, entries = analysis.learning()
    sections.summary_markdown(analysis, entry, entries)
    sections.learning_markdown(entry, entries)
    sections.intro_markdown(analysis)
    sections.findings_markdown(analysis)
    figure(effects_chart(analysis.findings)).to_svg()
    for outcome in analysis.card.outcomes:
        sections.means_figure(analysis, outcome.column)
        sections.means_markdown(analysis, outcome.column)
    sections.trust_markdown(analysis)
    sections.quality_figures(analysis)
    sections.targets_markdown(analysis)


def now(pilot: Path) -> list[str]:
    analysis = analyse_pilot(pilot)
    views(analysis)
    return [chart.to_svg() for chart in sections.design_figures(analysis)]


def before(pilot: Path) -> list[str]:
    analysis = analyse_pilot(pilot)
    views(analysis)
    card, frame = analysis.card, analysis.validation.valid
    drawn = []
    for outcome in card.outcomes:
        if outcome.column not in analysis.figures:
            continue
        kind = analysis.figures[outcome.column]
        data: Any = (
            its_chart_data(card, frame, outcome)
            if type(kind).__name__ == "ItsChartData"
            else event_study(card, frame, outcome)
        )
        drawn += [f.to_svg() for f in design_chart(design_of(card), data, outcome)]
    return drawn


def best_of(repeats: int, run: Callable[[], list[str]]) -> tuple[float, list[str]]:
    times, result = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot", type=Path, default=Path("pilots/westmere-social-work"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    now(args.pilot)  # warm up imports and caches for both paths
    new_seconds, new_charts = best_of(args.repeats, lambda: now(args.pilot))
    old_seconds, old_charts = best_of(args.repeats, lambda: before(args.pilot))
    print(f"pilot: {args.pilot}  (best of {args.repeats})")
    print(f"before (figures estimated again): {old_seconds:7.2f} s")
    print(f"now (figures from the analysis):  {new_seconds:7.2f} s")
    print(f"ratio before / now:               {old_seconds / new_seconds:7.2f}")
    if new_charts != old_charts:
        print("the figures drawn differ between the two paths", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
