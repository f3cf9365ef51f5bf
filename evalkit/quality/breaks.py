"""Recording breaks: sudden shifts in how many records arrive, or in what they record.

A change of system, form or practice shows up as a step: records per month
drop when a team stops logging a contact type, or "unknown" ethnicity jumps
when a field stops being mandatory. Each break is a question for the local
team ("what changed in 2025-07?"), never a verdict.

Method: binary segmentation with a simulated (parametric bootstrap) test.
For a stretch of periods, every split with at least ``MIN_SEGMENT`` periods
on each side is scored (records per period: the likelihood-ratio statistic
for a change in a Poisson rate; shares: Pearson's chi-square of the
before/after x category table). The best score, divided by how noisy the
series is from one period to the next (its dispersion, read from neighbouring
periods so that a step barely moves it), is compared with the same score on
``SIMULATIONS`` series simulated with no break and the same level, mix and
noise (Poisson or multinomial; negative binomial or Dirichlet-multinomial when
the data are noisier than that). A break found splits the stretch and each
side is searched again. Each test has a false-alarm rate of ``ALPHA`` on a
stable series; breaks too small to matter (``MIN_RATIO``,
``MIN_SHARE_POINTS``) are merged away.

The simulated test and the segmentation (``MIN_SEGMENT``, ``ALPHA``,
``SIMULATIONS``) are in :mod:`evalkit.quality.segmentation`; this module turns
what they find into breaks in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.quality.disclosure import is_small, is_small_share
from evalkit.quality.segmentation import (
    binary_segmentation,
    count_split_test,
    merge_small,
    share_split_test,
    with_neighbours,
)

#: A change in records per period is reported when one level is at least this many
#: times the other (1.25: a rise of a quarter, or a fall of a fifth).
MIN_RATIO = 1.25
#: A change in a category's share is reported when it moves by at least this many points.
MIN_SHARE_POINTS = 5.0
#: Records with no value are counted under this name, so a jump in blanks is seen.
BLANK = "(blank)"
#: Categories too small to name are pooled under this label, which is never reported.
POOLED = "(small categories pooled)"


@dataclass(frozen=True)
class RecordingBreak:
    """A sudden shift in a series: where it happened, its size, and the question it raises."""

    kind: Literal["count", "share"]
    period: str  # the first period at the new level
    category: str | None  # the category whose share shifted (share breaks only)
    before: float  # records per period, or percent share, in the stretch before
    after: float  # the same in the stretch from `period` on
    p_value: float  # from the simulated test that found the break
    message: str
    #: "before" and/or "after" when that level rests on a count too small to publish; the
    #: message says "fewer than 10" instead and the signal's numbers leave it out
    hidden: tuple[str, ...] = ()


def count_breaks(
    periods: Sequence[str],
    counts: Sequence[int],
    *,
    per: str | None = None,
    seed: int = 0,
    min_count: int | None = None,
) -> tuple[RecordingBreak, ...]:
    """Return the sudden shifts in how many records arrive per period (periods in time order).

    ``per`` names the period in messages ("month"); by default it is read from
    the labels ("2025-07" is a month, "2025-W07" a week, "2025-Q3" a quarter).
    With ``min_count`` (disclosure control), a level below it is said as
    "fewer than 10" rather than as a number.
    """
    labels = [str(period) for period in periods]
    values = np.asarray(counts, dtype=float)
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} periods but {len(values)} counts")
    if len(set(labels)) != len(labels):
        raise ValueError("each period must appear once")
    if (~np.isfinite(values)).any() or (values < 0).any():
        raise ValueError("counts must be whole numbers of records, 0 or more")
    rng = np.random.default_rng(seed)
    found = binary_segmentation(len(values), lambda lo, hi: count_split_test(values[lo:hi], rng))
    kept = merge_small(
        found,
        len(values),
        lambda lo, mid, hi: _ratio(values[lo:mid].mean(), values[mid:hi].mean()),
    )
    unit = per or _period_unit(labels)
    breaks = []
    for lo, mid, hi, p_value in with_neighbours(kept, len(values)):
        before, after = float(values[lo:mid].mean()), float(values[mid:hi].mean())
        verb = "fell" if after < before else "rose"
        levels = {"before": before, "after": after}
        hidden = tuple(
            k for k, v in levels.items() if min_count is not None and is_small(v, min_count)
        )
        words = {
            k: f"fewer than {min_count}" if k in hidden else f"about {_about(v)}"
            for k, v in levels.items()
        }
        breaks.append(
            RecordingBreak(
                kind="count",
                period=labels[mid],
                category=None,
                before=before,
                after=after,
                p_value=p_value,
                message=f"Records per {unit} {verb} from {words['before']} to "
                f"{words['after']} from {labels[mid]}. Did recording practice, a system or "
                "the service change then?",
                hidden=hidden,
            )
        )
    return tuple(breaks)


def share_breaks(
    periods: Sequence[object],
    category_values: Sequence[object],
    *,
    column: str = "",
    min_count: int = 10,
    seed: int = 0,
) -> tuple[RecordingBreak, ...]:
    """Return the sudden shifts in the share of a category, one record per pair of values.

    Periods must sort in time order ("2025-07", ISO dates). Blank values count
    as their own category. Categories with fewer than ``min_count`` records in
    all are tested together, pooled, and never named (disclosure control); a
    share resting on fewer than ``min_count`` records with (or without) the
    category in its stretch is said in words, not as a percentage.
    """
    if len(periods) != len(category_values):
        raise ValueError(f"{len(periods)} periods but {len(category_values)} values")
    frame = pd.DataFrame({"period": list(periods), "value": list(category_values)})
    frame = frame[frame["period"].notna()]
    frame["value"] = frame["value"].map(lambda v: BLANK if pd.isna(v) else str(v))
    totals = frame["value"].value_counts()
    small = set(totals[totals < min_count].index)
    frame["value"] = frame["value"].where(~frame["value"].isin(small), POOLED)
    table = pd.crosstab(frame["period"], frame["value"]).sort_index()
    if table.shape[1] < 2:
        return ()
    counts = table.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    found = binary_segmentation(len(counts), lambda lo, hi: share_split_test(counts[lo:hi], rng))

    named = np.array([category != POOLED for category in table.columns])

    def change(lo: int, mid: int, hi: int) -> float:
        """Return the largest move, in points, of a category that may be named."""
        moves = np.abs(_shares(counts[mid:hi]) - _shares(counts[lo:mid]))
        return float(moves[named].max() * 100)

    kept = merge_small(
        found, len(counts), lambda lo, mid, hi: change(lo, mid, hi) / MIN_SHARE_POINTS
    )
    labels = [str(p) for p in table.index]
    what = f"records with {column}" if column else "records in the category"
    breaks = []
    for lo, mid, hi, p_value in with_neighbours(kept, len(counts)):
        before_shares, after_shares = _shares(counts[lo:mid]), _shares(counts[mid:hi])
        stretches = {"before": counts[lo:mid].sum(axis=0), "after": counts[mid:hi].sum(axis=0)}
        for j, category in enumerate(table.columns):
            before, after = 100 * before_shares[j], 100 * after_shares[j]
            if category == POOLED or abs(after - before) < MIN_SHARE_POINTS:
                continue
            verb = "fell" if after < before else "rose"
            hidden = tuple(
                k
                for k, stretch in stretches.items()
                if is_small_share(float(stretch[j]), float(stretch.sum()), min_count)
            )
            words = {
                k: _share_words(float(stretches[k][j]), min_count)
                if k in hidden
                else f"about {_about_share(v)}"
                for k, v in (("before", before), ("after", after))
            }
            breaks.append(
                RecordingBreak(
                    kind="share",
                    period=labels[mid],
                    category=str(category),
                    before=float(before),
                    after=float(after),
                    p_value=p_value,
                    message=f"The share of {what} \u201c{category}\u201d {verb} from "
                    f"{words['before']} to {words['after']} from "
                    f"{labels[mid]}. Did the way it is recorded change then?",
                    hidden=hidden,
                )
            )
    return tuple(breaks)


def _ratio(before: float, after: float) -> float:
    """Return how many times MIN_RATIO apart two levels are, on a log scale (>= 1 reports)."""
    low, high = sorted((before, after))
    if high == 0:
        return 0.0
    if low == 0:
        return np.inf
    return float(np.log(high / low) / np.log(MIN_RATIO))


def _shares(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=0)
    return np.asarray(totals / max(totals.sum(), 1), dtype=float)


def _period_unit(labels: list[str]) -> str:
    patterns = {
        "month": r"\d{4}-\d{2}",
        "week": r"\d{4}-W\d{2}",
        "quarter": r"\d{4}-Q[1-4]",
        "day": r"\d{4}-\d{2}-\d{2}",
        "year": r"\d{4}",
    }
    for unit, pattern in patterns.items():
        if all(re.fullmatch(pattern, label) for label in labels):
            return unit
    return "period"


def _about(value: float) -> str:
    """Return a level rounded for reading: 213 -> 210, 1234 -> 1,200, 45.3 -> 45, 4.4 -> 4.4."""
    if value >= 100:
        digits = len(str(int(value))) - 2
        return f"{round(value, -digits):,.0f}"
    return f"{value:.0f}" if value >= 10 else f"{value:.1g}" if value < 1 else f"{value:.1f}"


def _share_words(count: float, min_count: int) -> str:
    """Return a share too near a small count to give, in words that state no count."""
    if is_small(count, min_count):
        return f"fewer than {min_count} records"
    return f"all but fewer than {min_count} records" if count else "no records"


def _about_share(percent: float) -> str:
    return f"{percent:.1f}%" if 0 < percent < 1 else f"{percent:.0f}%"
