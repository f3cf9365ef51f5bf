"""Plain sentences for findings: what was found, how sure we are, and no more."""

from __future__ import annotations

import math

from evalkit.estimate.registry import get_design


def compared_with(design: str) -> tuple[str, str]:
    """Return how a design's comparison opens a sentence, and how it closes a "can't tell" one."""
    entry = get_design(design)
    if entry is None:
        return ("With the pilot, {label} was", "with the pilot")
    return entry.words.opens, entry.words.closes


def format_number(value: float) -> str:
    """Return a number rounded for reading: two significant figures, whole above 100."""
    size = abs(value)
    if size == 0 or not math.isfinite(value):
        return "0" if size == 0 else str(value)
    if size >= 100:
        return f"{size:,.0f}"
    digits = max(0, 1 - math.floor(math.log10(size)))
    text = f"{size:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_signed(value: float) -> str:
    """Return a rounded number with its sign: +3.1, −18 (a true minus sign), 0."""
    text = format_number(value)
    return f"\u2212{text}" if value < 0 else (f"+{text}" if value > 0 else text)


#: How an interval without an end is shown beside its estimate.
NO_END = "no 95% interval: too few places to bound it"


def format_interval(
    estimate: float, low: float, high: float, unit: str = "", *, ratio: bool = False
) -> str:
    """Return an estimate with its interval: "−18 days (−25 to −11)"; ratios as "×0.73 (…)"."""
    unit_text = f" {unit}" if unit else ""
    shown = f"\u00d7{estimate:.2f}" if ratio else f"{format_signed(estimate)}{unit_text}"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{shown} ({NO_END})"
    if ratio:
        return f"{shown} (\u00d7{low:.2f} to \u00d7{high:.2f})"
    return f"{shown} ({format_signed(low)} to {format_signed(high)})"


def in_sentence(label: str) -> str:
    """Return a label as it reads mid-sentence: first letter lower, acronyms ("WEMWBS") kept."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def describe_change(
    *,
    label: str,
    design: str,
    estimate: float,
    ci_low: float,
    ci_high: float,
    better: str,
    unit: str = "",
) -> str:
    """Return one or two sentences saying what changed, with its 95% interval.

    The wording follows the interval, not the p-value: "about X lower (95% CI
    a to b lower)" when the interval excludes no change, "we can't tell yet"
    when it spans it.
    """
    unit_text = f" {unit}" if unit else ""
    lower_label = in_sentence(label)
    opening, short = compared_with(design)
    word = "lower" if estimate < 0 else "higher"
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return _cannot_bound(lower_label, short, f"{format_number(estimate)}{unit_text} {word}")
    if ci_high < 0 or ci_low > 0:
        near, far = sorted((abs(ci_low), abs(ci_high)))
        return (
            f"{opening.format(label=lower_label)} about {format_number(estimate)}{unit_text} "
            f"{word} (95% CI {format_number(near)} to {format_number(far)}{unit_text} {word}). "
            f"{better.capitalize()} is better for this measure."
        )
    return (
        f"We can't tell yet whether {lower_label} changed {short}: the best estimate is "
        f"{format_number(estimate)}{unit_text} {word}, but the 95% CI runs from "
        f"{format_number(abs(ci_low))}{unit_text} lower to {format_number(abs(ci_high))}"
        f"{unit_text} higher, so it is consistent with no change."
    )


def describe_ratio(
    *,
    label: str,
    design: str,
    estimate: float,
    ci_low: float,
    ci_high: float,
    better: str,
    more: str = "more",
    fewer: str = "fewer",
) -> str:
    """Return one or two sentences saying by what percentage a count changed, with its 95% CI.

    ``estimate`` and its interval are ratios: 0.88 reads "about 12% fewer".
    As with :func:`describe_change`, the wording follows the interval: "we
    can't tell yet" when it includes a ratio of 1 (no change).
    """
    entry = get_design(design)
    lead, short = (
        (entry.words.counts_open, entry.words.closes)
        if entry is not None
        else ("With the pilot, there were", "with the pilot")
    )
    lower_label = in_sentence(label)
    percent = percent_change

    word = fewer if estimate < 1 else more
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)) or ci_low <= 0:
        return _cannot_bound(lower_label, short, f"{percent(estimate)} {word}")
    if ci_high < 1 or ci_low > 1:
        near, far = sorted((ci_low, ci_high), key=lambda r: abs(r - 1.0))
        return (
            f"{lead} about {percent(estimate)} {word} {lower_label} "
            f"(95% CI {percent(near)} to {percent(far)} {word}). "
            f"{better.capitalize()} is better for this measure."
        )
    return (
        f"We can't tell yet whether {lower_label} changed {short}: the best estimate is "
        f"{percent(estimate)} {word}, but the 95% CI runs from {percent(ci_low)} {fewer} to "
        f"{percent(ci_high)} {more}, so it is consistent with no change."
    )


def percent_change(ratio: float) -> str:
    """Return a ratio as the size of its change, rounded for reading: 0.88 -> "12%"."""
    return f"{format_number(abs(ratio - 1.0) * 100.0)}%"


def _cannot_bound(label: str, short: str, best: str) -> str:
    return (
        f"We can't tell from these data whether {label} changed {short}: the best estimate "
        f"is {best}, but they rest on too few places for any 95% interval to rule out no "
        "change, or a change of any size."
    )
