"""The report's findings: what changed with its interval and how sure we can be.

Also the strength of evidence, where the design's assumptions look doubtful,
whether the pilot is big enough, and the design's own figures.
"""

from __future__ import annotations

from typing import Literal

from evalkit.analysis import Analysis
from evalkit.charts import Figure
from evalkit.contract import as_key
from evalkit.estimate.evidence import LEVELS
from evalkit.estimate.finding import Finding
from evalkit.estimate.inference import names_people, plural_of
from evalkit.estimate.registry import design_of
from evalkit.estimate.wording import (
    NO_END,
    format_signed,
    in_sentence,
)
from evalkit.markup import plain
from evalkit.quality.disclosure import describe_count
from evalkit.report.assessment import assessment_of
from evalkit.report.words import finding_context, found_sentence


def findings_markdown(analysis: Analysis) -> str:
    """Return the findings in plain words with a table of estimates and intervals."""
    card = analysis.card
    design = design_of(card)
    evidence = analysis.evidence
    lines = [
        "## What we found",
        "",
        f"This pilot uses {design.words.uses}. {assessment_of(analysis).caveat}",
        "",
        *[f"- {plain(_in_full(analysis, finding))}" for finding in analysis.findings],
        "",
        *how_sure_lines(analysis),
        "| Outcome | Estimated change | 95% confidence interval | p-value | Records used |",
        "|---|---|---|---|---|",
    ]
    for f in analysis.findings:
        if f.no_change == 1.0:  # a ratio: 0.73 means 27% fewer
            change = f"{plain(f.scale)} {f.estimate:.2f}"
            interval = f"{f.ci_low:.2f} to {f.ci_high:.2f}"
        else:
            unit = f" {plain(f.unit)}" if f.unit else ""
            change = f"{format_signed(f.estimate)}{unit}"
            interval = f"{format_signed(f.ci_low)} to {format_signed(f.ci_high)}"
        if not f.bounded:
            interval = NO_END
        lines.append(
            f"| {plain(f.label)} | {change} | {interval} | {plain(p_text(f.p_value))} | "
            f"{describe_count(f.n, card.min_cell_count)} |"
        )
    lines += alternatives_lines(analysis)
    for finding in analysis.findings:
        explained = design.explains(finding)
        if explained:
            label = plain(in_sentence(finding.label))
            lines += ["", f"**Checks of the comparison for {label}:**", ""]
            lines += [f"- {plain(sentence)}" for sentence in explained]
    lines += [
        "",
        f"**Strength of evidence:** level {evidence.level} of 5 on the Maryland Scientific "
        f"Methods Scale ({LEVELS[evidence.level]}).",
        "",
        *[f"- {plain(reason)}" for reason in evidence.why],
        "",
        "Methods: " + plain("; ".join(f"{f.label}: {f.method}" for f in analysis.findings)) + ".",
    ]
    doubts = design_doubts(analysis)
    if doubts:
        lines += [
            "",
            "**Where the design's assumptions look doubtful:**",
            "",
            *[f"- {plain(doubt)}" for doubt in doubts],
        ]
    power = underpowered_markdown(analysis)
    if power:
        lines += ["", power]
    said = set(inference_texts(analysis, "note"))
    notes = list(dict.fromkeys(n for f in analysis.findings for n in f.notes if n not in said))
    if notes:
        lines += ["", *[f"- {plain(note)}" for note in notes]]
    return "\n".join(lines)


def _in_full(analysis: Analysis, finding: Finding) -> str:
    """Return a finding in full, with the same smallest change and level as the summary's."""
    if not finding.bounded:
        return finding.summary
    mde, baseline = finding_context(analysis, finding)
    return found_sentence(finding, analysis.card.design, mde=mde, baseline=baseline)


def alternatives_lines(analysis: Analysis) -> list[str]:
    """Return the table of other estimators of the same change, when a design gives them."""
    found = [f for f in analysis.findings if f.alternatives]
    if not found:
        return []
    lines = [
        "",
        "**The same change estimated three ways.** The first is the headline; the others "
        "answer the same question with fewer safeguards, and a wide disagreement is a reason "
        "for caution. Each interval and p-value comes from the same placebo comparison.",
        "",
        "| Outcome | Method | Estimated change | Standard error | 95% confidence interval | "
        "p-value |",
        "|---|---|---|---|---|---|",
    ]
    for f in found:
        unit = f" {plain(f.unit)}" if f.unit else ""
        for other in f.alternatives or ():
            interval = (
                f"{format_signed(other.ci_low)} to {format_signed(other.ci_high)}"
                if other.ci_low is not None and other.ci_high is not None
                else NO_END
            )
            se = f"{other.se:.3g}" if other.se is not None else "not given"
            lines.append(
                f"| {plain(f.label)} | {plain(other.method)} | "
                f"{format_signed(other.estimate)}{unit} | {se} | "
                f"{interval} | {plain(p_text(other.p_value))} |"
            )
    return lines


def inference_texts(analysis: Analysis, key: Literal["note", "short"]) -> list[str]:
    """Return the findings' words on how few places they rest on, each said once."""
    said = (f.inference for f in analysis.findings if f.inference is not None)
    texts = (inference.note if key == "note" else inference.short for inference in said)
    return list(dict.fromkeys(t for t in texts if t))


def how_sure_lines(analysis: Analysis) -> list[str]:
    """Return who is compared (a pilot named by place) and how sure the findings can be."""
    card = analysis.card
    group = card.data.group
    lines = []
    named_by_place = group is not None and group.column in (card.data.unit, card.data.cluster)
    if group is not None and named_by_place and not names_people(group.column):
        values = analysis.validation.valid[group.column].dropna().astype(str).unique()
        pilot = {as_key(v) for v in group.pilot_values}
        ours = sorted(v for v in values if v in pilot)
        others = [v for v in values if v not in pilot]
        several = plain(plural_of(group.column))
        used = _comparisons_used(analysis, len(others))
        lines += [
            f"**Who is compared.** The pilot covers {len(ours)} of the {len(values)} {several} "
            f"({plain(', '.join(ours))}); the other {len(others)} are the comparison{used}.",
            "",
        ]
    for text in inference_texts(analysis, "note"):
        lines += [f"**How sure we can be.** {plain(text)}", ""]
    return lines


def _comparisons_used(analysis: Analysis, others: int) -> str:
    """Return how many comparison places each finding used, when some were left out."""
    fewer = [
        (f.label, f.checks.comparison_places)
        for f in analysis.findings
        if f.checks is not None
        and f.checks.comparison_places is not None
        and f.checks.comparison_places < others
    ]
    if not fewer:
        return ""
    each = "; ".join(f"{count} for {in_sentence(label)}" for label, count in fewer)
    return plain(f", where they have a figure in every period ({each}; see the notes below)")


def design_doubts(analysis: Analysis) -> list[str]:
    """Return plain sentences for each design check that failed (pre-trends, few periods)."""
    return [c.text for c in assessment_of(analysis).concerns if c.kind == "design"]


def underpowered_markdown(analysis: Analysis) -> str:
    """Return a note when the pilot is too small to expect to detect the change it hopes for."""
    from evalkit.estimate.power import power_summary

    short = [m for m in analysis.plan if m.detectable() is False]
    if not short:
        return ""
    return "**Is the pilot big enough?** " + plain(power_summary(short))


def design_figures(analysis: Analysis) -> list[Figure]:
    """Return the design's own charts (event studies, ITS counterfactuals), drawn from the
    figure data the analysis computed with its findings."""
    from evalkit.charts.design import design_chart

    design = design_of(analysis.card)
    return [
        drawn
        for outcome in analysis.card.outcomes
        if outcome.column in analysis.figures
        for drawn in design_chart(design, analysis.figures[outcome.column], outcome)
    ]


def p_text(value: float | None) -> str:
    if value is None:
        return "not given"
    return "<0.001" if value < 0.001 else f"{value:.3f}"
