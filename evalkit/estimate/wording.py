"""Plain sentences for findings: what was found, how sure we are, and no more.

How sure is said in grades decided by the 95% interval, not by a p-value
(:func:`interval_grade`):

- ``"clear"``: the interval excludes no change: "fell by about 12 days".
- ``"probably"``: it includes no change, but only near one end: no change lies
  outside the 80% interval read from the 95% one (same centre, 1.28/1.96 of
  its half-width; on the log scale for a ratio), that is within the outer
  sixth of the 95% interval. For a normal interval this is a two-sided
  p-value under 0.2. −15 to +0.1 is "probably lower"; −7 to +9.1 is not.
- ``"cannot tell"``: otherwise.
- ``"unbounded"``: too few places for the interval to have two ends.

Beside "probably" and "cannot tell" goes the smallest change these data could
reliably show (:func:`mde_sentence`): a null result is not "no effect".
"""

from __future__ import annotations

import math
from typing import Literal

from evalkit.estimate.registry import get_design

Grade = Literal["clear", "probably", "cannot tell", "unbounded"]

#: 97.5% and 90% normal quantiles (a 95% and an 80% two-sided interval) and 80% power
Z95, Z80, Z_POWER = 1.959964, 1.281552, 0.841621
#: How far out no change must lie, as a share of the 95% half-width, to be "probably".
PROBABLY = Z80 / Z95


def interval_grade(low: float, high: float, *, ratio: bool = False) -> Grade:
    """Return how sure a 95% interval lets us be: clear, probably, cannot tell or unbounded."""
    if not (math.isfinite(low) and math.isfinite(high)) or (ratio and low <= 0):
        return "unbounded"
    if ratio:
        low, high = math.log(low), math.log(high)
    if low > 0 or high < 0:
        return "clear"
    centre, half = (low + high) / 2, (high - low) / 2
    if half > 0 and abs(centre) > PROBABLY * half:
        return "probably"
    return "cannot tell"


def detectable_change(low: float, high: float, *, ratio: bool = False, fall: bool = True) -> float:
    """Return the change these data would find 80% of the time, read from the 95% interval.

    That is (1.96 + 0.84) standard errors, the standard error read from the
    interval's half-width so it matches whatever method drew the interval. A
    ratio's is on the log scale, given back as a ratio: a fall (below 1) or a rise.
    """
    if ratio:
        low, high = math.log(low), math.log(high)
    size = (high - low) / 2 / Z95 * (Z95 + Z_POWER)
    if ratio:
        return math.exp(-size if fall else size)
    return size


def compared_with(design: str) -> tuple[str, str]:
    """Return how a design's comparison opens a sentence, and how it closes a "can't tell" one."""
    entry = get_design(design)
    if entry is None:
        return ("With the pilot, {label} was", "with the pilot")
    return entry.words.opens, entry.words.closes


def _decimals(size: float) -> int:
    """Return the decimals for two significant figures, none at 100 and above."""
    if size == 0 or size >= 100:
        return 0
    return max(0, 1 - math.floor(math.log10(size)))


def _fixed(size: float, decimals: int) -> str:
    text = f"{size:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_number(value: float) -> str:
    """Return a number's size rounded for reading: two significant figures, whole above 100."""
    size = abs(value)
    if not math.isfinite(value):
        return str(value)
    return _fixed(size, _decimals(size))


def format_numbers(*values: float, decimals: int = 0) -> tuple[str, ...]:
    """Return sizes rounded for reading, with decimals added until different values read apart.

    So an interval never reads "88 to 88": 88.2 and 88.4 read "88.2" and "88.4".
    ``decimals`` is the fewest shown (trailing zeros are still dropped).
    """
    sizes = [abs(v) for v in values]
    if not all(math.isfinite(s) for s in sizes):
        return tuple(format_number(v) for v in values)
    for extra in range(5):
        texts = tuple(_fixed(s, max(decimals, _decimals(s)) + extra) for s in sizes)
        clash = any(
            texts[i] == texts[j] and not math.isclose(sizes[i], sizes[j], rel_tol=1e-9)
            for i in range(len(sizes))
            for j in range(i + 1, len(sizes))
        )
        if not clash:
            break
    return texts


def _width_decimals(low: float, high: float) -> int:
    """Return the decimals that show an interval's width to one significant figure."""
    width = abs(high - low)
    return max(0, _decimals(width) - 1) if math.isfinite(width) and width > 0 else 0


def _signed(text: str, value: float) -> str:
    return f"\u2212{text}" if value < 0 and text.strip("0.,") else text


def format_range(low: float, high: float, unit: str = "") -> str:
    """Return "54.7 to 55.5 days": signed with a true minus, precise enough to show its width.

    A narrow interval keeps the decimals its width needs, so its ends never
    read the same when they differ ("88 to 88"); a wide one stays rounded.
    """
    near, far = format_numbers(low, high, decimals=_width_decimals(low, high))
    return f"{_signed(near, low)} to {quantity(_signed(far, high), unit)}"


def format_mean_and_range(mean: float, low: float, high: float) -> tuple[str, str]:
    """Return a mean and its interval at one precision: ("55.1", "54.7 to 55.5")."""
    texts = format_numbers(mean, low, high, decimals=_width_decimals(low, high))
    shown = [_signed(t, v) for t, v in zip(texts, (mean, low, high), strict=True)]
    return shown[0], f"{shown[1]} to {shown[2]}"


def format_signed(value: float) -> str:
    """Return a rounded number with its sign: +3.1, −18 (a true minus sign), 0."""
    text = format_number(value)
    return f"\u2212{text}" if value < 0 else (f"+{text}" if value > 0 else text)


def change_unit(unit: str) -> str:
    """Return the unit a difference is in: a difference of percentages is in percentage points."""
    return "percentage points" if unit.strip().lower() in {"%", "percent", "per cent"} else unit


def quantity(number: str, unit: str) -> str:
    """Return a number with its unit, singular for exactly one: "1 percentage point", "2 days"."""
    if not unit:
        return number
    if number.lstrip("\u2212+") == "1" and not unit.startswith("per "):
        head, sep, tail = unit.partition(" per ")
        if head.endswith("s") and not head.endswith("ss"):
            unit = head[:-1] + sep + tail
    return f"{number} {unit}"


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
    """Return a label as it reads mid-sentence: first letter lower unless the word is an acronym.

    "Days in care" reads "days in care"; "A&E visits", "NHS 111 calls", "GP
    appointments", "WEMWBS score" and "eConsult" keep their capitals.
    """
    first = label.split(" ", 1)[0]
    if any(c.isupper() for c in first[1:]):
        return label
    return label[:1].lower() + label[1:]


def sentence_start(text: str) -> str:
    """Return text with its first letter capitalised, the rest as written."""
    return text[:1].upper() + text[1:]


def subject(design: str, label: str) -> str:
    """Return a sentence's subject naming the outcome in the design's comparison.

    "Compared with the comparison group, days in care in the pilot": followed
    by "fell" or "rose", which need no agreement with a plural label.
    """
    opens, closes = compared_with(design)
    for verb in (" was", " were"):
        if "{label}" in opens and opens.endswith(verb):
            start = opens[: -len(verb)]
            named = label if start.startswith("{label}") else in_sentence(label)
            return sentence_start(start.format(label=named))
    return f"{sentence_start(label)} {closes}"


def spread_words(low: str, high: str, unit: str = "") -> str:
    """Return an interval spanning no change: "7 days lower to 9.1 days higher"."""
    ends = [
        "no change" if text.rstrip("%") == "0" else f"{quantity(text, unit)} {side}"
        for text, side in ((low, "lower"), (high, "higher"))
    ]
    return f"{ends[0]} to {ends[1]}"


def mde_sentence(mde: float, unit: str = "", *, ratio: bool = False) -> str:
    """Return what a null result cannot rule out: the smallest change these data could show."""
    if not math.isfinite(mde):
        return "No change of any size could reliably be told apart from chance with this much data."
    size = percent_change(mde) if ratio else quantity(format_number(mde), unit)
    return (
        f"A change smaller than about {size} could not reliably be told apart from chance "
        "with this much data."
    )


def baseline_words(estimate: float, baseline: float | None, unit: str) -> str:
    """Return the change beside the pilot's level before it, or "" when that says nothing."""
    if baseline is None or not math.isfinite(baseline):
        return ""
    if unit == "percentage points":
        return f"Before the change the pilot's level was {format_number(baseline)}%."
    if baseline <= 0:
        return ""
    share = share_of(estimate, baseline)
    if not share:
        return ""
    level = quantity(format_number(baseline), unit)
    return f"That is about {share} of the pilot's average before the change ({level})."


def share_of(change: float, baseline: float) -> str:
    """Return a change as a share of the level before it, as a reader rounds: "11%", "0.3%".

    "" below 0.1%, where the share says nothing a reader could use.
    """
    share = abs(change) / baseline * 100.0
    if share < 0.1:
        return ""
    if share >= 1:
        return f"{share:.0f}%"
    return f"{float(f'{share:.1g}'):g}%"


def describe_change(
    *,
    label: str,
    design: str,
    estimate: float,
    ci_low: float,
    ci_high: float,
    better: str,
    unit: str = "",
    mde: float | None = None,
    baseline: float | None = None,
) -> str:
    """Return one to three sentences saying what changed, with its 95% interval.

    The grade (:func:`interval_grade`) decides the words: "fell by about X"
    when clear, "probably fell, but no change is not ruled out" and "we can't
    tell yet" beside the smallest change the data could show (``mde``, else
    read from the interval). ``baseline`` is the pilot's level before the change.
    """
    unit = change_unit(unit)
    grade = interval_grade(ci_low, ci_high)
    word = "lower" if estimate < 0 else "higher"
    verb, noun = ("fell", "fall") if estimate < 0 else ("rose", "rise")
    best = quantity(format_number(estimate), unit)
    _, short = compared_with(design)
    if grade == "unbounded":
        return _cannot_bound(in_sentence(label), short, f"{best} {word}")
    low, high = format_numbers(ci_low, ci_high)
    spread = spread_words(low, high, unit)
    if mde is None:
        mde = detectable_change(ci_low, ci_high)
    context = baseline_words(estimate, baseline, unit)
    if grade == "clear":
        near, far = format_numbers(*sorted((abs(ci_low), abs(ci_high))))
        return _join(
            f"{subject(design, label)} {verb} by about {best} "
            f"(95% CI: a {noun} of {near} to {quantity(far, unit)}).",
            context,
            f"{better.capitalize()} is better for this measure.",
        )
    if grade == "probably":
        return _join(
            f"{subject(design, label)} probably {verb}, by about {best}, but no change is not "
            f"ruled out: the 95% CI runs from {spread}.",
            context,
            mde_sentence(mde, unit),
        )
    return _join(
        f"We can't tell yet whether {in_sentence(label)} changed {short}: the best estimate is "
        f"{best} {word}, but the 95% CI runs from {spread}, so it is consistent with no change.",
        mde_sentence(mde, unit),
    )


def describe_ratio(
    *,
    label: str,
    design: str,
    estimate: float,
    ci_low: float,
    ci_high: float,
    better: str,
    scale: str = "rate ratio",
    mde: float | None = None,
) -> str:
    """Return one to three sentences saying by what percentage a count changed, with its 95% CI.

    ``estimate`` and its interval are ratios: 0.88 reads "fell by about 12%".
    The grades are those of :func:`describe_change`, with no change at 1; an
    odds ratio speaks of "the odds of" the outcome. ``mde`` is a ratio.
    """
    if scale == "odds ratio":
        label = f"the odds of {in_sentence(label)}"
    grade = interval_grade(ci_low, ci_high, ratio=True)
    _, short = compared_with(design)
    percent = percent_change
    word, verb, noun = ("lower", "fell", "fall") if estimate < 1 else ("higher", "rose", "rise")
    if grade == "unbounded":
        return _cannot_bound(in_sentence(label), short, f"{percent(estimate)} {word}")
    spread = spread_words(*percent_changes(ci_low, ci_high))
    if mde is None:
        mde = detectable_change(ci_low, ci_high, ratio=True, fall=estimate < 1)
    if grade == "clear":
        near, far = percent_changes(*sorted((ci_low, ci_high), key=lambda r: abs(r - 1.0)))
        return _join(
            f"{subject(design, label)} {verb} by about {percent(estimate)} "
            f"(95% CI: a {noun} of {near} to {far}).",
            f"{better.capitalize()} is better for this measure.",
        )
    if grade == "probably":
        return _join(
            f"{subject(design, label)} probably {verb}, by about {percent(estimate)}, but no "
            f"change is not ruled out: the 95% CI runs from {spread}.",
            mde_sentence(mde, ratio=True),
        )
    return _join(
        f"We can't tell yet whether {in_sentence(label)} changed {short}: the best estimate is "
        f"{percent(estimate)} {word}, but the 95% CI runs from {spread}, so it is consistent "
        "with no change.",
        mde_sentence(mde, ratio=True),
    )


def percent_change(ratio: float) -> str:
    """Return a ratio as the size of its change, rounded for reading: 0.88 -> "12%"."""
    return f"{format_number(abs(ratio - 1.0) * 100.0)}%"


def percent_changes(*ratios: float) -> tuple[str, ...]:
    """Return ratios as sizes of change that read apart when they differ: "12%", "12.4%"."""
    return tuple(f"{t}%" for t in format_numbers(*(abs(r - 1.0) * 100.0 for r in ratios)))


def _join(*sentences: str) -> str:
    return " ".join(s for s in sentences if s)


def _cannot_bound(label: str, short: str, best: str) -> str:
    return (
        f"We can't tell from these data whether {label} changed {short}: the best estimate "
        f"is {best}, but they rest on too few places for any 95% interval to rule out no "
        "change, or a change of any size."
    )
