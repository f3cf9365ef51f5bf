"""A process chart in plain words: its limit sets, its special causes, and what they mean.

Each chart is summarised once (one table row, one signal line per measure),
never as a bullet for every special cause.
"""

from __future__ import annotations

from evalkit.quality.spc import SpecialCause
from evalkit.quality.spc_process import TRIAL_POINTS, ProcessChart

_RULE_WORDS = {
    "outside-limits": "outside the limits",
    "shift": "a run on one side of the mean",
    "trend": "a run rising or falling",
    "two-of-three": "two of three near a limit",
}


def number(value: float) -> str:
    """Return a value to three significant figures, as the charts show it."""
    return f"{value:.3g}"


def means_text(chart: ProcessChart, unit: str = "") -> str:
    """Return the mean of each limit set: "163 → 155 days", or one mean with no change."""
    units = f" {unit}" if unit and unit != "%" else unit
    means = " → ".join(number(s.centre) for s in chart.segments)
    return f"{means}{units}"


def limits_labels(chart: ProcessChart, unit: str = "") -> list[str]:
    """Return a label for each limit set: "before the change: mean 164 days (trial limits)"."""
    units = f" {unit}" if unit and unit != "%" else unit
    labels = []
    for segment in chart.segments:
        where = "all periods" if segment.label == "all periods" else segment.label
        short = "after" if segment.label == "after the change" else where
        text = f"{short}: mean {number(segment.centre)}{units}"
        if segment.basis == 0:
            text += " (limits carried over: too few points to recalculate)"
        elif segment.trial:
            text += " (trial limits)"
        labels.append(text)
    return labels


def cause_counts(chart: ProcessChart) -> tuple[int, int]:
    """Return how many special causes point in the improving and in the concerning direction."""
    better_up = chart.better == "higher"
    improving = sum((c.direction == "up") == better_up for c in chart.causes)
    return improving, len(chart.causes) - improving


def causes_text(chart: ProcessChart) -> str:
    """Return the special causes in one sentence: how many, which way, and the latest."""
    if not chart.causes:
        return "No special causes: the ups and downs look like ordinary variation."
    improving, concerning = cause_counts(chart)
    parts = []
    if improving:
        parts.append(f"{improving} in the improving direction")
    if concerning:
        parts.append(f"{concerning} in the concerning direction")
    kinds = sorted({_RULE_WORDS[c.rule] for c in chart.causes})
    total = len(chart.causes)
    latest: SpecialCause = max(chart.causes, key=lambda c: (c.end, c.start))
    return (
        f"{total} special cause{'' if total == 1 else 's'} ({', '.join(parts)}; "
        f"{', '.join(kinds)}); the latest: {latest.message}."
    )


def meaning(chart: ProcessChart) -> str:
    """Return what the chart means, in a few plain sentences, for the summary table."""
    sentences = []
    latest = chart.point_types()[-1]
    if not chart.causes:
        sentences.append("Only ordinary variation: no special causes.")
    else:
        if latest == "improvement":
            sentences.append(
                "The latest point is part of an unusual pattern in the better direction."
            )
        elif latest == "concern":
            sentences.append(
                "The latest point is part of an unusual pattern in the worse direction: "
                "worth a question to the team."
            )
        else:
            sentences.append("The latest point is within ordinary variation.")
        sentences.append(causes_text(chart))
    if chart.change_at is not None:
        sentences.append(f"Limits recalculated from {chart.change_at}, when the change started.")
    if chart.assurance is not None:
        sentences.append(_ASSURANCE_WORDS[chart.assurance].format(number(chart.target or 0.0)))
    if any(s.trial for s in chart.segments):
        sentences.append(f"Trial limits ({_basis_words(chart)}; {TRIAL_POINTS} wanted).")
    if chart.suppressed_periods:
        sentences.append(
            f"{chart.suppressed_periods} "
            + ("period" if chart.suppressed_periods == 1 else "periods")
            + " with too few records to show "
            + ("is" if chart.suppressed_periods == 1 else "are")
            + " left out."
        )
    return " ".join(sentences)


#: Making Data Count's assurance icons in words that judge the process against the target,
#: never the team: a target is context, not a pass or a fail.
ASSURANCE = {
    "consistently passes": "runs on the target's better side",
    "consistently fails": "runs on the target's worse side",
    "hit and miss": "target within ordinary variation",
}


_ASSURANCE_WORDS = {
    "consistently passes": (
        "The target ({}) lies outside the limits on the better side: while the process runs "
        "as it does, every period is on the better side of it (context, not a judgement)."
    ),
    "consistently fails": (
        "The target ({}) lies outside the limits on the worse side: while the process runs "
        "as it does, no period will reach it (context, not a judgement)."
    ),
    "hit and miss": (
        "The target ({}) lies inside the limits: ordinary variation alone puts some periods "
        "on each side of it (context, not a judgement)."
    ),
}


def _basis_words(chart: ProcessChart) -> str:
    """Return how many points each trial limit set rests on: "12 points after the change"."""
    trial = [s for s in chart.segments if s.trial]
    if len(chart.segments) == 1:
        return f"{trial[0].basis} points"
    return " and ".join(f"{s.basis} points {s.label}" for s in trial)


def trial_warning(chart: ProcessChart) -> str:
    """Return the warning for limits from fewer than TRIAL_POINTS points, or "" when none are."""
    if not any(s.trial for s in chart.segments):
        return ""
    return (
        f"Trial limits: from {_basis_words(chart)}, fewer than the {TRIAL_POINTS} "
        "Making Data Count asks for; they may move as more periods come in."
    )


def signal_text(charts: list[ProcessChart]) -> str:
    """Return one line for a measure: each process with special causes, summarised."""
    parts = [
        f"{c.process} (latest point: {c.variation}): {causes_text(c)}" for c in charts if c.causes
    ]
    return " ".join(parts)
