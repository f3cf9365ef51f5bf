"""The report's data-trust section: checks, rejected rows, integrity questions and their charts."""

from __future__ import annotations

from evalkit.analysis import Analysis
from evalkit.charts import Figure, figure
from evalkit.charts.bunching import bunching_chart
from evalkit.contract import Reading
from evalkit.markup import plain, plain_code
from evalkit.quality import trust_table
from evalkit.quality.disclosure import describe_count, describe_part, is_small
from evalkit.quality.equivalence import ADJUSTABLE_UP_TO, EQUIVALENT_UP_TO
from evalkit.report.assessment import assessment_of
from evalkit.report.spc import spc_figures, spc_markdown


def trust_markdown(analysis: Analysis) -> str:
    """Return what the data can and cannot be trusted for: checks, rejections, signals."""
    validation = analysis.validation
    lines = [
        "## What the data can be trusted for",
        "",
        f"{_rows_text(analysis)} {plain_code(analysis.card.data.path)}; "
        f"{_rejected_text(analysis)} failed a check and were left out of the estimates. "
        "The rows left out are listed, with their reasons, in "
        "`rejected_rows.csv` beside this report (kept for the local team, not published; a "
        "cell a spreadsheet would run as a formula is written there with an apostrophe in "
        "front, so it opens as text).",
        "",
    ]
    threshold = analysis.card.min_cell_count
    if validation.readings:
        lines += ["How the file was read (nothing in it was changed):", ""]
        lines += [f"- {plain(_told(reading, threshold))}" for reading in validation.readings]
        lines.append("")
    summary = validation.failure_summary()
    if not summary.empty:
        lines += ["| Column | Check failed | Rows |", "|---|---|---|"]
        for column, rule, rows in summary[["column", "rule", "rows"]].itertuples(index=False):
            lines.append(f"| {plain(column)} | {plain(rule)} | {describe_count(rows, threshold)} |")
        lines.append("")
    table = trust_table(validation)
    lines += [
        "Every column the analysis uses was checked:",
        "",
        "| Column | Used as | Expected |",
        "|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(f"| {plain(row.column)} | {plain(row[2])} | {plain(row.expected)} |")
    lines.append("")
    assessed = assessment_of(analysis)
    if assessed.questions:
        lines += ["**Questions for the team** (not judgements):", ""]
        lines += [f"- {plain(concern.text)}" for concern in assessed.questions]
    elif assessed.concerns:
        lines.append(
            "This run raised no questions about the data themselves; the doubts it found "
            "about the design or the pilot's size are under 'What we found'."
        )
    else:
        lines.append("This run raised no questions about the data or the design.")
    lines += ["", *_quality_lines(analysis)]
    return "\n".join(lines)


def _told(reading: Reading, threshold: int) -> str:
    """Return a reading as published: no example cell, and no small count of cells exactly."""
    cells, text = reading.cells, reading.published
    if reading.column is None or not is_small(cells, threshold):
        return text
    exact = f"{cells:,} cell" + ("" if cells == 1 else "s")
    return text.replace(exact, f"{describe_count(cells, threshold)} cells", 1)


def _quality_lines(analysis: Analysis) -> list[str]:
    quality, threshold = analysis.quality, analysis.card.min_cell_count
    missing = quality.profile.missing
    lines = [
        "### Missing values by group and period",
        "",
        "| Column | " + " | ".join(plain(c) for c in missing.columns[1:]) + " |",
        "|---" * len(missing.columns) + "|",
    ]
    counts, totals = quality.profile.missing_counts, quality.profile.cell_rows
    # a group-and-period column with any small count shows none of its shares: beside the
    # records each outcome used there, one share would give the column's rows, and with them
    # every other outcome's small count of missing values
    withheld = {
        name for name in missing.columns[1:] if any(is_small(k, threshold) for k in counts[name])
    }
    for row, count in zip(
        missing.itertuples(index=False), counts.itertuples(index=False), strict=True
    ):
        cells = [
            "—"
            if share != share
            else "not shown"
            if name in withheld
            else describe_part(missing_rows, totals[name], threshold)
            for name, share, missing_rows in zip(
                missing.columns[1:], row[1:], count[1:], strict=True
            )
        ]
        lines.append(f"| {plain(row[0])} | " + " | ".join(cells) + " |")
    if withheld:
        lines += [
            "",
            'Columns marked "not shown" have fewer than '
            f"{threshold} missing values for some column, so none of their shares are given: "
            "beside the records each outcome used, one share would let that count be worked out.",
        ]
    duplicates = quality.profile.duplicate_units
    lines += [
        "",
        f"Rows whose unit id repeats within a period: {describe_count(duplicates, threshold)}.",
        "",
    ]
    if quality.attrition is not None or quality.equivalence:
        lines += ["### Attrition and baseline equivalence", ""]
        if quality.attrition is not None:
            lines += [plain(quality.attrition.message), ""]
        baselines = assessment_of(analysis).baselines
        if baselines:
            lines += [
                "How far apart the groups started, in standard deviations (the What Works "
                f"Clearinghouse's bands: up to {EQUIVALENT_UP_TO} alike, up to "
                f"{ADJUSTABLE_UP_TO} somewhat apart, beyond that far apart):",
                "",
                "| Outcome at baseline | Standardised difference | What it means here |",
                "|---|---|---|",
            ]
            for b in baselines:
                lines.append(
                    f"| {plain(b.outcome)} | {plain(b.measure)} {b.difference:+.2f} "
                    f"| {plain(b.meaning)} |"
                )
            lines.append("")
    other = [
        s
        for s in analysis.signals
        # questions are listed above, and the SPC table below summarises special causes
        if s.kind in {"bunching", "recording-break", "who-is-served"} and s.level == "info"
    ]
    if other:
        patterns = [f"- {plain(signal.message)}" for signal in other]
        lines += ["### Patterns worth a look", "", *patterns, ""]
    over_time = spc_markdown(analysis)
    if over_time:
        lines += [over_time, ""]
    if quality.skipped:
        lines += ["**Checks not run:**", "", *[f"- {plain(reason)}" for reason in quality.skipped]]
    return lines


def quality_figures(analysis: Analysis) -> list[Figure]:
    """Return the data-trust charts: one SPC chart per process, and target pile-up histograms."""
    by_name = {o.name: o for o in analysis.card.outcomes}
    threshold = analysis.card.min_cell_count
    figures = spc_figures(analysis)
    for name, result in analysis.quality.bunching.items():
        chart = bunching_chart(
            result, label=name, unit=by_name[name].unit, min_cell_count=threshold
        )
        figures.append(figure(chart))
    return figures


def _rows_text(analysis: Analysis) -> str:
    rows = analysis.published_rows()
    # withheld beside a small rejected count or a finding's n: the difference would be a count
    if rows is None:
        return (
            "Every row was read (how many is not given: beside the figures below it would let a "
            f"count under {analysis.card.min_cell_count} be worked out) from"
        )
    return f"{rows:,} rows were read from"


def _rejected_text(analysis: Analysis) -> str:
    rejected, threshold = len(analysis.validation.rejected), analysis.card.min_cell_count
    if is_small(rejected, threshold):
        return describe_count(rejected, threshold)  # a share would give the count away
    if analysis.published_rows() is None:
        return f"{rejected:,}"  # a share would give the withheld total away
    return f"{rejected:,} ({analysis.validation.rejected_share:.1%})"
