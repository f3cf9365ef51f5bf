"""The words and charts of the central comparison, as Markdown and figures for the template."""

from __future__ import annotations

import math

from evalkit.charts import Figure, figure
from evalkit.charts.forest import forest_chart
from evalkit.compare import Comparison, SharedOutcome
from evalkit.estimate.evidence import LEVELS
from evalkit.estimate.finding import RATIO_SCALES
from evalkit.estimate.value_model import money
from evalkit.estimate.wording import format_interval, format_number, format_signed
from evalkit.markup import plain, plain_code

DECISION_WORDS = {
    None: "not decided yet",
    "adapt": "adapt",
    "continue": "continue",
    "grow": "grow",
    "pause": "pause",
    "stop": "stop",
}


def title_markdown(comparison: Comparison) -> str:
    """Return the comparison's title and what it covers."""
    counts = {
        s: sum(p.status == s for p in comparison.pilots)
        for s in ("current", "stale", "missing", "invalid")
    }
    summary = (
        f"{len(comparison.pilots)} registered pilots: {counts['current']} with current "
        f"results, {counts['stale']} with results from an earlier cycle, {counts['missing']} "
        f"with none yet, {counts['invalid']} whose results could not be read."
    )
    return "\n".join(
        [
            "# What our pilots are learning",
            "",
            summary + " Pilots are listed by place: this is not a league table, and every "
            "result is shown, including null and negative ones.",
        ]
    )


def portfolio_markdown(comparison: Comparison) -> str:
    """Return every pilot in place order: design, cycle, evidence, decision, what it changes."""
    lines = [
        "## Every pilot",
        "",
        "| Place | Pilot | Team | Design | Cycle | Evidence level | Latest decision | "
        "What it is changing | Results |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in comparison.pilots:
        decided = p.decided
        decision = "not decided yet"
        changing = "—"
        if decided is not None:
            decision = f"{plain(decided.decision)} (cycle {decided.cycle})"
            changing = plain("; ".join(decided.next_changes)) or "—"
        level = f"{p.evidence_level} of 5" if p.evidence_level else "—"
        results = {
            "current": "current",
            "stale": "earlier cycle",
            "missing": "missing",
            "invalid": "unreadable",
        }[p.status]
        lines.append(
            f"| {plain(p.place)} | {plain(p.id)} | {plain(p.team or '—')} | "
            f"{plain(p.design or '—')} | "
            f"{p.cycle or '—'} | {level} | {decision} | {changing} | {results} |"
        )
    gaps = [p for p in comparison.pilots if p.status != "current"]
    if gaps:
        lines += ["", "**Pilots without current results** (listed, never dropped):", ""]
        lines += [
            f"- {plain(p.place)} ({plain(p.id)}): {plain(p.reason.splitlines()[0])}" for p in gaps
        ]
    local = [p for p in comparison.pilots if p.local_template]
    if local:
        lines += ["", "**Reports made with the pilot's own template** (local variation):", ""]
        lines += [
            f"- {plain(p.place)} ({plain(p.id)}): local template {plain(p.local_template or '')}"
            for p in local
        ]
    lines += [
        "",
        "Evidence levels (Maryland Scientific Methods Scale): "
        + "; ".join(f"{level}: {words}" for level, words in LEVELS.items())
        + ".",
    ]
    return "\n".join(lines)


def outcome_markdown(outcome: SharedOutcome) -> str:
    """Return one shared outcome: every place's estimate and, when possible, the pooled one."""
    unit = outcome.unit
    lines = [
        f"### {plain(outcome.label)}",
        "",
        f"Measure id {plain_code(outcome.outcome)}, on the scale: {plain(outcome.scale)}"
        + (f" ({plain(unit)})" if unit else "")
        + f"; {plain(outcome.better)} is better.",
        "",
    ]
    pooled = outcome.pooled
    ratio = outcome.scale in RATIO_SCALES
    if pooled is None:
        lines.append("Only one pilot measures this, so nothing is pooled.")
    else:
        spread = f"\u03c4\u00b2 = {pooled.tau2:.3g}; I\u00b2 = {pooled.i2:.0f}%"
        if pooled.k == 2:
            spread += " (two places cannot estimate these reliably)"
        lines += [
            f"Pooled across {pooled.k} places (random effects, {pooled.method}): "
            + plain(
                format_interval(pooled.estimate, pooled.ci_low, pooled.ci_high, unit, ratio=ratio)
            )
            + f" (95% CI; p = {_p_text(pooled.p_value)}). "
            + plain(pooled.heterogeneity_words()),
            "",
            f"Between-place variance {spread}; "
            f"Q = {pooled.q:.2f} (p = {pooled.q_p_value:.3g}). A pooled number is an average "
            "over places, not a promise for any one of them.",
            "",
            "The pooled 95% interval uses the Hartung-Knapp method (a t distribution with "
            f"{pooled.df} degree{'s' if pooled.df > 1 else ''} of freedom): it allows for how "
            "little a few places tell us about the spread between them, so with few places it "
            "is wider than the usual interval, on purpose.",
        ]
    lines += [
        "",
        "| Place | Estimate (95% CI) | p-value | Evidence level | Records used |",
        "|---|---|---|---|---|",
    ]
    for e in outcome.estimates:
        f = e.finding
        stale = " (earlier cycle)" if e.stale else ""
        interval = format_interval(f.estimate, f.ci_low, f.ci_high)
        if not (math.isfinite(f.ci_low) and math.isfinite(f.ci_high)):
            # a pilot with too few places may give an interval without an end
            interval = f"{format_signed(f.estimate)} (the interval has no end)"
        lines.append(
            f"| {plain(e.place)}{stale} | {interval} "
            f"| {_p_text(f.p_value)} | {e.evidence_level} | {format_number(f.n)} |"
        )
    return "\n".join(lines)


def _p_text(value: float | None) -> str:
    """Return a p-value as the reports print it; "not given" when a pilot's results gave none."""
    if value is None:
        return "not given"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def learning_markdown(comparison: Comparison) -> str:
    """Return decisions and changes grouped by outcome, then the centre's to-do list."""
    lines = ["## What pilots are learning and changing", ""]
    for label, pilots in comparison.learning_by_outcome().items():
        lines += [f"**{plain(label)}**", ""]
        for p in pilots:
            entry = p.entry
            if entry is None:
                lines.append(f"- {plain(p.place)}: no learning-log entry yet.")
                continue
            decision = DECISION_WORDS.get(entry.decision, "not decided yet")
            learned = entry.learned or "not written yet"
            changes = "; ".join(entry.next_changes) or "nothing recorded"
            lines.append(
                f"- {plain(p.place)} (cycle {entry.cycle}, {decision}): learned: {plain(learned)} "
                f"Changing: {plain(changes)}."
            )
        lines.append("")
    lines += [
        "## What the centre needs to act on",
        "",
        "Blockers that pilots say need another tier of government to act, grouped by who must act.",
        "",
    ]
    blockers = comparison.blockers()
    if not blockers:
        lines.append("No pilot has escalated a blocker.")
    for who, items in blockers.items():
        lines += [
            f"**{plain(who)}**",
            "",
            *[f"- {plain(place)}: {plain(what)}" for place, what in items],
            "",
        ]
    return "\n".join(lines)


def value_markdown(comparison: Comparison) -> str:
    """Return each costed pilot's value for money in place order, or "" when none gave costs."""
    costed = [(p, v) for p in comparison.pilots if p.results for v in p.results.value_for_money]
    if not costed:
        return ""
    lines = [
        "## Value for money, where pilots gave their costs",
        "",
        "Each pilot's cost for each participant beside its own estimate, with the same "
        "uncertainty. Pilots count different costs and value outcomes differently, so read "
        "each beside its own report: this is not a ranking, and pilots stay in place order.",
        "",
        "| Place | Outcome | Cost for each participant | Cost for each unit of change "
        "(95% interval) | Net benefit this cycle at the pilot's value (95% interval) |",
        "|---|---|---|---|---|",
    ]
    for p, v in costed:
        place = plain(p.place) + (" (earlier cycle)" if p.status == "stale" else "")
        if v.not_computed is not None:
            lines.append(
                f"| {place} | {plain(v.label)} | — | not worked out: {plain(v.not_computed)} | — |"
            )
            continue
        each = money(v.cost_per_participant or 0.0, v.currency)
        if v.cost_per_unit is None:
            unit = "unbounded: the interval reaches no change"
        else:
            unit = (
                f"{money(v.cost_per_unit, v.currency)} "
                f"({money(v.cost_per_unit_low or 0.0, v.currency)} to "
                f"{money(v.cost_per_unit_high or 0.0, v.currency)})"
            )
        benefit = "no value given"
        if v.net_benefit is not None:
            benefit = (
                f"{money(v.net_benefit, v.currency)} "
                f"({money(v.net_benefit_low or 0.0, v.currency)} to "
                f"{money(v.net_benefit_high or 0.0, v.currency)})"
            )
        lines.append(f"| {place} | {plain(v.label)} | {each} | {unit} | {benefit} |")
    return "\n".join(lines)


def outcome_figures(outcome: SharedOutcome) -> Figure:
    """Return the forest plot of one shared outcome."""
    rows = [
        {
            "place": e.place,
            "estimate": e.finding.estimate,
            "ci_low": e.finding.ci_low,
            "ci_high": e.finding.ci_high,
            "evidence_level": e.evidence_level,
            "stale": e.stale,
        }
        for e in outcome.estimates
    ]
    pooled = outcome.pooled.__dict__ if outcome.pooled is not None else None
    return figure(forest_chart(rows, label=outcome.label, unit=outcome.unit, pooled=pooled))
