"""A finding in a resident's words, graded by its interval as the full sentences are.

:func:`grade` is the one place a report asks how sure a finding lets us be
(the grades are set out in :mod:`evalkit.estimate.wording`), so the summary,
the learning section and "What we found" never disagree. :func:`plain_finding`
says it in one or two sentences; :func:`finding_context` finds what it needs
beside the finding: the smallest change the pilot could show, and the pilot's
level before the change.
"""

from __future__ import annotations

import math

from evalkit.analysis import Analysis
from evalkit.estimate.finding import Finding
from evalkit.estimate.wording import (
    Grade,
    change_unit,
    describe_change,
    describe_ratio,
    detectable_change,
    format_number,
    format_numbers,
    in_sentence,
    interval_grade,
    mde_sentence,
    percent_changes,
    quantity,
    sentence_start,
    share_of,
    spread_words,
)


def grade(finding: Finding) -> Grade:
    """Return how sure the finding's 95% interval lets us be: clear, probably, cannot tell...

    ... or unbounded, when too few places leave the interval without an end.
    """
    return interval_grade(finding.ci_low, finding.ci_high, ratio=finding.no_change == 1.0)


def finding_context(analysis: Analysis, finding: Finding) -> tuple[float | None, float | None]:
    """Return (smallest detectable change, pilot's level before the change) for a finding.

    The smallest change is the analysis's plan for the outcome when it has
    one, else read from the finding's interval; a ratio for ratio findings.
    The level is the pilot's mean before the change, None when there is no
    such cell or it is suppressed (a hidden cell's mean is never used).
    """
    ratio = finding.no_change == 1.0
    mde: float | None = None
    planned = next((m for m in analysis.plan if m.outcome == finding.outcome), None)
    if planned is not None:
        mde = planned.rate_ratio if ratio else abs(planned.mde)
    if (mde is None or not math.isfinite(mde)) and finding.bounded:
        mde = detectable_change(
            finding.ci_low, finding.ci_high, ratio=ratio, fall=finding.estimate < 1
        )
    return mde, _baseline(analysis, finding)


def _baseline(analysis: Analysis, finding: Finding) -> float | None:
    outcome = next((o for o in analysis.card.outcomes if o.measure_id == finding.outcome), None)
    if outcome is None or outcome.column not in analysis.cells:
        return None
    if outcome.type == "count" and analysis.card.data.population is not None:
        return None  # the finding is a rate per 1,000; the cells hold the counts themselves
    cells = analysis.cells[outcome.column]
    before = cells[(cells["group"] == "pilot") & (cells["period"] == "before")]
    if before.empty or bool(before["suppressed"].iloc[0]):
        return None
    mean = float(before["mean"].iloc[0])
    return mean if math.isfinite(mean) else None


def plain_finding(
    finding: Finding, *, mde: float | None = None, baseline: float | None = None
) -> str:
    """Return one finding in a resident's words, in one or two sentences; the interval decides.

    ``mde`` (the smallest change the data could show, a ratio for ratio
    findings) is said beside "probably" and "can't tell yet"; read from the
    interval when not given. ``baseline``, the pilot's level before the
    change, puts a clear difference beside it ("about 11% of ...").
    """
    kind = grade(finding)
    if kind == "unbounded":
        return _unbounded(finding)
    ratio = finding.no_change == 1.0
    label = in_sentence(finding.label)
    if finding.scale == "odds ratio":
        label = f"the odds of {label}"
    unit = "" if ratio else change_unit(finding.unit)
    fell = finding.estimate < finding.no_change
    verb = "fell" if fell else "rose"
    if mde is None:
        mde = detectable_change(finding.ci_low, finding.ci_high, ratio=ratio, fall=fell)
    ends = (finding.ci_low, finding.ci_high)
    if kind == "clear":
        if ratio:
            near, far = percent_changes(*sorted(ends, key=lambda r: abs(r - 1.0)))
        else:
            near, far = format_numbers(*sorted(abs(e) for e in ends))
        verdict = "an improvement" if finding.improved else "a change for the worse"
        return (
            f"We are fairly sure {label} {verb}: by somewhere between {near} and "
            f"{quantity(far, unit)}. That is {verdict}{_beside(finding, baseline, unit)}."
        )
    low, high = percent_changes(*ends) if ratio else format_numbers(*ends)
    spread = spread_words(low, high, unit)
    if kind == "probably":
        opening = f"{sentence_start(label)} probably {verb}, but no change is not ruled out"
    else:
        opening = f"We can't tell yet whether {label} changed"
    return f"{opening}: the data fit anything from {spread}. {mde_sentence(mde, unit, ratio=ratio)}"


def _beside(finding: Finding, baseline: float | None, unit: str) -> str:
    """Return a clear difference beside the pilot's level before the change, or ""."""
    if finding.no_change == 1.0 or baseline is None or not math.isfinite(baseline):
        return ""  # a ratio is already a share of the level before
    if unit == "percentage points":
        return f"; before the change the pilot's level was {format_number(baseline)}%"
    if baseline <= 0:
        return ""
    best = quantity(format_number(finding.estimate), unit)
    share = share_of(finding.estimate, baseline)
    if not share:
        return ""
    level = quantity(format_number(baseline), unit)
    return (
        f": the best estimate, {best}, is about {share} of the pilot's average before the "
        f"change ({level})"
    )


def _unbounded(finding: Finding) -> str:
    """Return what can be said when too few places leave the interval without an end."""
    return (
        f"We can't tell whether {in_sentence(finding.label)} changed: the pilot rests on too "
        "few places for any interval to rule out chance. What can be said is the direction "
        "and size of the difference seen, under 'What we found'."
    )


def found_sentence(
    finding: Finding, design: str, *, mde: float | None = None, baseline: float | None = None
) -> str:
    """Return the full "What we found" sentences for a finding, with its context when known.

    The same words :func:`~evalkit.estimate.wording.describe_change` wrote
    into ``finding.summary``, with the analysis's smallest detectable change
    and the pilot's level before the change added.
    """
    if finding.no_change == 1.0:
        return describe_ratio(
            label=finding.label,
            design=design,
            estimate=finding.estimate,
            ci_low=finding.ci_low,
            ci_high=finding.ci_high,
            better=finding.better,
            scale=finding.scale,
            mde=mde,
        )
    return describe_change(
        label=finding.label,
        design=design,
        estimate=finding.estimate,
        ci_low=finding.ci_low,
        ci_high=finding.ci_high,
        better=finding.better,
        unit=finding.unit,
        mde=mde,
        baseline=baseline,
    )
