"""Shares of small groups in published prose: a percentage can give a count away.

14% of a group of 7 is one person. A share is published only when neither
the part nor the rest of the group is a count below the threshold; otherwise
the words say "fewer than 10" (or "none", "all") instead. These sit beside
:mod:`evalkit.quality.disclosure`, whose count helpers they build on.
"""

from __future__ import annotations

from evalkit.quality.disclosure import is_small


def is_small_share(count: float, total: float, threshold: int) -> bool:
    """Return True when ``count`` of ``total`` as a share would let a reader work out a small count.

    That is when the part or the rest of the group is a count below the
    threshold (0 < x < threshold); a group smaller than the threshold always is.
    """
    return is_small(count, threshold) or is_small(total - count, threshold)


def describe_part(count: float, total: float, threshold: int, *, digits: int = 0) -> str:
    """Return a part of a group for prose: "14%", or "none", "all", "fewer than 10", ...

    A share is given only when :func:`is_small_share` allows it; otherwise the
    part is described in words that state no count below the threshold.
    """
    if not total:
        return "none"
    if not is_small_share(count, total, threshold):
        return f"{100 * count / total:.{digits}f}%"
    if count == 0:
        return "none"
    if count == total:
        return "all"
    if is_small(count, threshold):
        return f"fewer than {threshold}"
    return f"all but fewer than {threshold}"
