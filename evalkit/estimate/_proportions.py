"""Honest intervals for a yes/no outcome with few events: score intervals and an exact odds ratio.

With few events the Wald (HC1 regression) interval for a difference in
proportions can cover the truth well under 95% of the time; score intervals
do not (Newcombe 1998, "Interval estimation for the difference between
independent proportions: comparison of eleven methods", Stat Med 17, 873-890).

The default is Miettinen-Nurminen (Stat Med 1985, 4, 213-226; Newcombe's
method 6). It inverts a score test, and the p-value is that test at "no
difference" (Pearson's chi-square times (N-1)/N), so the two always agree on
whether "no difference" is ruled out: report words follow the interval and
must not contradict the p-value. Newcombe's hybrid (method 10) is
``method="newcombe"``; no test goes with it, so its p-value is the one its
interval implies (the smallest alpha whose interval leaves out 0). statsmodels
0.15's Miettinen-Nurminen interval is not used: its constrained estimate is
wrong away from 0 (statsmodels issue #10269) and its root search fails at small
counts (9/10 against 3/10). Paired (same people before and after): Tango's
score interval (Stat Med 1998, 17, 891-908), whose test at 0 is McNemar's.

Odds ratio: conditional maximum likelihood with Fisher's exact 95% interval;
paired, discordant pairs with the exact binomial interval. A group with the
outcome never or always gives 0 or infinity, said in words, never missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio
from statsmodels.stats.proportion import confint_proportions_2indep

Method = Literal["miettinen-nurminen", "newcombe"]
#: The interval used unless another is asked for (see the module docstring for why).
DEFAULT_METHOD: Method = "miettinen-nurminen"

_Z = float(stats.norm.isf(0.025))
#: Distance from -1 and 1 at which the score is evaluated: at the ends it is 0/0.
_EDGE = 1e-12


@dataclass(frozen=True)
class TwoProportions:
    """A difference between two proportions with its 95% interval, p-value and odds ratio."""

    difference: float  # p1 - p2 as proportions (0.08, not 8 percentage points)
    ci_low: float  # 95% limits, always within [-1, 1]
    ci_high: float
    p_value: float  # the test of no difference that the interval inverts
    method: str  # the interval in plain words, with its source
    odds_ratio: float  # may be 0 or inf; nan only when the data say nothing (see or_method)
    or_low: float  # exact 95% limits, always given (0 and inf allowed)
    or_high: float
    or_method: str


def compare_proportions(
    events_1: int, n_1: int, events_2: int, n_2: int, *, method: Method = DEFAULT_METHOD
) -> TwoProportions:
    """Return group 1's share with the outcome minus group 2's, as a proportion, with its 95% CI.

    ``method`` is ``"miettinen-nurminen"`` (default) or ``"newcombe"``. The
    p-value tests "no difference" by the test the interval inverts, so
    ``p_value < 0.05`` exactly when the interval leaves out 0.
    """
    events_1, n_1 = _check(events_1, n_1, "group 1")
    events_2, n_2 = _check(events_2, n_2, "group 2")
    difference = events_1 / n_1 - events_2 / n_2
    if method == "miettinen-nurminen":

        def score(delta: float) -> float:
            return _mn_score(events_1, n_1, events_2, n_2, delta)

        low, high = _invert(score, difference)
        p_value = float(2 * stats.norm.sf(abs(score(0.0))))
        words = "Miettinen-Nurminen score interval (Newcombe 1998, method 6)"
    elif method == "newcombe":
        low, high = _newcombe(events_1, n_1, events_2, n_2, 0.05)
        p_value = _newcombe_p_value(events_1, n_1, events_2, n_2, difference)
        words = "Newcombe hybrid score interval (Newcombe 1998, method 10)"
    else:
        raise ValueError(f"method must be 'miettinen-nurminen' or 'newcombe', not {method!r}")
    table = np.array([[events_1, n_1 - events_1], [events_2, n_2 - events_2]], dtype=np.int64)
    odds, or_low, or_high, or_words = _conditional_odds_ratio(table)
    return TwoProportions(difference, low, high, p_value, words, odds, or_low, or_high, or_words)


def compare_paired_proportions(
    both: int, first_only: int, second_only: int, neither: int
) -> TwoProportions:
    """Return the share with the outcome at the first time minus at the second, same people.

    The four counts are the people with the outcome both times, only the
    first time, only the second time, and neither time. The interval is
    Tango's score interval and the p-value McNemar's test without continuity
    correction, the same score at "no difference".
    """
    counts = tuple(
        _check_whole(count, "paired counts") for count in (both, first_only, second_only, neither)
    )
    if min(counts) < 0:
        raise ValueError(f"paired counts cannot be negative, not {min(counts)}")
    first_only, second_only, total = counts[1], counts[2], sum(counts)
    if total == 0:
        raise ValueError("a paired comparison needs at least one person")
    difference = (first_only - second_only) / total

    def score(theta: float) -> float:
        return _tango_score(first_only, second_only, total, theta)

    low, high = _invert(score, difference)
    p_value = float(2 * stats.norm.sf(abs(score(0.0))))
    discordant = first_only + second_only
    if discordant == 0:
        odds, or_low, or_high = math.nan, 0.0, math.inf
        or_words = "no odds ratio: no one changed between the two times (interval 0 to infinity)"
    else:
        # given the pairs that changed, first_only is binomial with p = OR / (1 + OR)
        ci = stats.binomtest(first_only, discordant).proportion_ci(method="exact")
        odds = first_only / second_only if second_only else math.inf
        or_low, or_high = _odds(ci.low), _odds(ci.high)
        or_words = "conditional odds ratio (discordant pairs) with exact binomial 95% interval"
        if 0 in (first_only, second_only):
            or_words += " (every change went one way: the estimate and one end are 0 or infinite)"
    words = "Tango score interval for paired proportions (Tango 1998)"
    return TwoProportions(difference, low, high, p_value, words, odds, or_low, or_high, or_words)


# --- independent groups ---------------------------------------------------------------------------


def _restricted_estimate(x1: int, n1: int, x2: int, n2: int, delta: float) -> tuple[float, float]:
    """Return the proportions that maximise the likelihood given p1 - p2 = delta.

    The closed-form root of the likelihood cubic (Miettinen and Nurminen 1985,
    appendix; Farrington and Manning 1990, Statistics in Medicine 9, 1447-1454).
    """
    s1, s2, theta = x1 / n1, x2 / n2, n2 / n1
    a = 1 + theta
    b = -(1 + theta + s1 + theta * s2 + delta * (theta + 2))
    c = delta**2 + delta * (2 * s1 + theta + 1) + s1 + theta * s2
    d = -s1 * delta * (1 + delta)
    v = b**3 / (27 * a**3) - b * c / (6 * a**2) + d / (2 * a)
    u = math.copysign(math.sqrt(max(b**2 / (9 * a**2) - c / (3 * a), 0.0)), v)
    # rounding can push the cosine's argument a hair past +-1 when the roots nearly meet
    cosine = 0.0 if u == 0 else max(-1.0, min(1.0, v / u**3))
    p1 = 2 * u * math.cos((math.pi + math.acos(cosine)) / 3) - b / (3 * a)
    p1 = min(max(p1, max(0.0, delta)), min(1.0, 1 + delta))
    return p1, p1 - delta


def _mn_score(x1: int, n1: int, x2: int, n2: int, delta: float) -> float:
    """Return the Miettinen-Nurminen z for p1 - p2 = delta (falls as delta rises)."""
    gap = x1 / n1 - x2 / n2 - delta
    if gap == 0:
        return 0.0
    p1, p2 = _restricted_estimate(x1, n1, x2, n2, delta)
    total = n1 + n2
    variance = (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) * total / (total - 1)
    return gap / math.sqrt(variance) if variance > 0 else math.copysign(math.inf, gap)


def _newcombe(x1: int, n1: int, x2: int, n2: int, alpha: float) -> tuple[float, float]:
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", alpha=alpha)
    # square-and-add can land a rounding error beyond -1 or 1
    return max(-1.0, float(low)), min(1.0, float(high))


def _newcombe_p_value(x1: int, n1: int, x2: int, n2: int, difference: float) -> float:
    """Return the smallest alpha whose Newcombe interval leaves out 0 (1 when there is no gap)."""
    if difference == 0:
        return 1.0
    side = 0 if difference > 0 else 1  # the limit that faces 0

    def limit(log_alpha: float) -> float:
        # positive while the limit is still on the estimate's side of 0
        value = _newcombe(x1, n1, x2, n2, 10.0**log_alpha)[side]
        return value if side == 0 else -value

    # the limit moves towards the estimate as alpha grows, and is the estimate at alpha = 1
    if limit(-300.0) > 0:
        return 0.0  # even a 1 - 1e-300 interval leaves out 0
    return float(10.0 ** optimize.brentq(limit, -300.0, 0.0, xtol=1e-12))


def _conditional_odds_ratio(table: np.ndarray) -> tuple[float, float, float, str]:
    result = scipy_odds_ratio(table, kind="conditional")
    ci = result.confidence_interval(confidence_level=0.95)
    odds, low, high = float(result.statistic), float(ci.low), float(ci.high)
    if math.isnan(odds):
        words = "no odds ratio: no one, or everyone, had the outcome in both groups (0 to infinity)"
        return odds, 0.0, math.inf, words
    words = "conditional maximum likelihood odds ratio with Fisher's exact 95% interval"
    if odds == 0 or math.isinf(odds):
        # the table sits at the edge its margins allow: a group with the outcome always or never
        end = "lower end are 0" if odds == 0 else "upper end are infinite"
        words += f" (one group had the outcome always or never: the estimate and {end})"
    return odds, low, high, words


# --- paired ---------------------------------------------------------------------------------------


def _tango_score(first_only: int, second_only: int, total: int, theta: float) -> float:
    """Return Tango's z for a paired difference theta (falls as theta rises).

    Notation of Tango's 1999 letter (Statistics in Medicine 18, 3511-3513),
    which restates the 1998 formulas with consistent signs.
    """
    gap = (first_only - second_only) - total * theta
    if gap == 0:
        return 0.0
    a = 2 * total
    b = -first_only - second_only + (2 * total - first_only + second_only) * theta
    c = -second_only * theta * (1 - theta)
    second_only_share = (-b + math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
    variance = total * (2 * second_only_share + theta * (1 - theta))
    return gap / math.sqrt(variance) if variance > 0 else math.copysign(math.inf, gap)


# --- shared ---------------------------------------------------------------------------------------


def _invert(score: Callable[[float], float], estimate: float) -> tuple[float, float]:
    """Return the differences whose two-sided score test gives p >= 0.05.

    The score is 0 at the estimate and falls as the tested difference rises,
    so each limit is the one root on its side; a limit stays at -1 or 1 when
    the score never reaches the critical value before the end.
    """
    low = -1.0
    if score(-1 + _EDGE) > _Z:
        low = optimize.brentq(lambda t: score(t) - _Z, -1 + _EDGE, estimate, xtol=1e-13)
    high = 1.0
    if score(1 - _EDGE) < -_Z:
        high = optimize.brentq(lambda t: score(t) + _Z, estimate, 1 - _EDGE, xtol=1e-13)
    return float(low), float(high)


def _odds(share: float) -> float:
    return share / (1 - share) if share < 1 else math.inf


def _check_whole(value: object, label: str) -> int:
    # bool is an int to Python, but True events among 50 people is a caller's mistake
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{label} must be whole numbers, not {value!r}")
    return int(value)


def _check(events: int, n: int, label: str) -> tuple[int, int]:
    events, n = _check_whole(events, f"{label}: counts"), _check_whole(n, f"{label}: counts")
    if n < 1:
        raise ValueError(f"{label}: a group needs at least one person, not {n}")
    if not 0 <= events <= n:
        raise ValueError(f"{label}: {events} events cannot happen among {n} people")
    return events, n
