"""Planning power: the smallest real change a pilot of its size can expect to detect.

The minimum detectable effect (MDE) is a multiple of the standard error the
design's estimate will have: MDE = M x SE, with M = t(1 - alpha/2, df) +
t(power, df) for a two-sided test (Bloom 1995, "Minimum detectable effects: a
simple way to report the statistical power of experimental designs",
Evaluation Review 19(5):547-556, which uses the normal z; the t form for small
samples and the design effect 1 + (m - 1) x ICC for clustered designs follow
Bloom 2005/2006, "The core analytics of randomized experiments for social
research", and Djimeu & Houndolo 2016, "Power calculation for causal inference
in social science", 3ie Working Paper 26). For large samples M is 2.80 at 80%
power and 5% significance.

The standard error for each design, with sd the outcome's spread:

- two independent groups (``rct``): sd x sqrt(1/n1 + 1/n0)
- before/after, different records (``pre_post``): sd x sqrt(1/n_before + 1/n_after)
- before/after, the same units (``pre_post`` paired): sd_change / sqrt(n), with
  sd_change = sd x sqrt(2 (1 - correlation)) when only the correlation is known
- difference-in-differences, different records in each period (``did``): the sum
  of the four cells' variances, sd x sqrt(sum of 1/n_cell)
- difference-in-differences, the same units (``did`` panel): sd_change x
  sqrt(1/n_pilot + 1/n_comparison), units' changes compared (Bertrand, Duflo &
  Mullainathan 2004 recommend collapsing to before/after means like this)
- interrupted time series (``its``): the level change's OLS standard error in a
  segmented regression on the series' time points (no autocorrelation)

Binary outcomes use sd = sqrt(p (1 - p)) at the baseline rate p and are reported
in percentage points. Counts are judged on the rate-ratio scale by the delta
method: log(mean) has variance sd^2 / (n x mean^2), the baseline mean and spread
taken to hold in every group.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.card import Outcome, PilotCard
from evalkit.contract import pilot_mask, post_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import outcome_rows
from evalkit.estimate.pre_post import PAIRED_SHARE
from evalkit.estimate.wording import format_number

PlanDesign = Literal["rct", "pre_post", "did", "its"]
Counts = int | tuple[int, int]  # one number for each period, or (before, after)


@dataclass(frozen=True)
class Mde:
    """The smallest real change one outcome's pilot can expect to detect, and why.

    ``mde`` is in the outcome's units (percentage points for binary outcomes; for
    counts, the change in the mean count that matches ``rate_ratio``, a fall when
    lower is better). ``se`` is the estimate's standard error on the scale the
    test uses (log rate ratio for counts). ``power_to_detect`` and ``detectable``
    take a change in the same units as ``mde``.
    """

    outcome: str
    design: str
    mde: float
    mde_standardised: float
    n: int
    assumptions: tuple[str, ...]
    label: str = ""
    outcome_type: str = "continuous"
    unit: str = ""
    sample: str = ""
    n_pilot: int = 0
    n_comparison: int | None = None
    power: float = 0.8
    alpha: float = 0.05
    multiplier: float = math.nan
    se: float = math.nan
    df: float = math.inf
    design_effect: float = 1.0
    baseline: float | None = None
    rate_ratio: float | None = None
    better: str = "higher"
    hoped_change: float | None = None

    def power_to_detect(self, change: float) -> float:
        """Return the chance the pilot finds a real change of this size significant."""
        distance = abs(change)
        if self.outcome_type == "count":
            assert self.baseline is not None
            after = self.baseline + change
            if after <= 0:
                return 1.0
            distance = abs(math.log(after / self.baseline))
        elif self.outcome_type == "binary":
            distance = distance / 100.0
        shift = distance / self.se - _quantile(1 - self.alpha / 2, self.df)
        # Bloom's approximation: the far tail of a two-sided test is ignored
        return float(stats.norm.cdf(shift) if math.isinf(self.df) else stats.t.cdf(shift, self.df))

    def detectable(self, hoped_change: float | None = None) -> bool | None:
        """Return whether the hoped-for change (the card's by default) is at least the MDE."""
        change = self.hoped_change if hoped_change is None else hoped_change
        if change is None:
            return None
        return self.power_to_detect(change) >= self.power - 1e-9


def multiplier(*, power: float = 0.8, alpha: float = 0.05, df: float = math.inf) -> float:
    """Return Bloom's multiplier M: the MDE in standard errors for a two-sided test."""
    return _quantile(1 - alpha / 2, df) + _quantile(power, df)


def design_effect(cluster_size: float, icc: float) -> float:
    """Return how much clustering inflates the variance: 1 + (m - 1) x ICC."""
    return 1.0 + (cluster_size - 1.0) * icc


def minimum_detectable_effect(
    *,
    design: PlanDesign,
    n_pilot: Counts,
    n_comparison: Counts | None = None,
    sd: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    clusters: int | None = None,
    icc: float | None = None,
    periods: tuple[int, int] | None = None,
    outcome_type: str = "continuous",
    baseline_rate: float | None = None,
    sd_change: float | None = None,
    correlation: float | None = None,
    cluster_size: float | None = None,
    better: str = "higher",
    approximation: Literal["t", "normal"] = "t",
    outcome: str = "outcome",
    label: str = "",
    unit: str = "",
    noun: str = "records",
    hoped_change: float | None = None,
    notes: Sequence[str] = (),
) -> Mde:
    """Return the smallest true change a pilot of this size would detect.

    ``n_pilot``/``n_comparison`` count records (or units, in paired and panel
    designs); for before/after and cross-sectional difference-in-differences a
    pair is (before, after) and one number means that many in each period.
    Giving ``sd_change`` or ``correlation`` makes ``pre_post`` paired and ``did``
    a panel of the same units. ``clusters`` (the total number) needs ``icc``;
    ``cluster_size`` defaults to records per cluster per period. ``its`` needs
    ``periods`` = (time points before, after) and ``sd``, the series' spread
    around its trend. ``baseline_rate`` is the proportion for binary outcomes and
    the mean count for counts. ``better`` only picks the direction a count's
    ``mde`` is told in. ``approximation="normal"`` gives Bloom's (1995) z form.
    """
    if not (0 < power < 1 and 0 < alpha < 1):
        raise ValueError("power and alpha must be between 0 and 1")
    said = [*notes]
    spread = _spread(outcome_type, sd, baseline_rate, said)
    paired = sd_change is not None or correlation is not None
    if paired and design in {"pre_post", "did"}:
        if sd_change is None:
            assert correlation is not None
            sd_change = spread * math.sqrt(2 * (1 - correlation))
            said.append(f"Before/after correlation {format_number(correlation)} assumed")
        effective = sd_change
    else:
        effective = spread
    weight, df, counts, groups, sample = _layout(
        design, n_pilot, n_comparison, periods, paired, noun
    )
    deff = 1.0
    if clusters is not None and design != "its":
        if icc is None:
            raise ValueError("a clustered design needs the ICC")
        if clusters <= groups:
            raise ValueError(f"{clusters} clusters are too few for this design")
        per_period = 1 if paired or design == "rct" else 2
        size = cluster_size if cluster_size is not None else sum(counts) / clusters / per_period
        deff = design_effect(size, icc)
        df = clusters - groups
        said.append(
            f"{clusters} clusters of about {format_number(size)} {noun} each; "
            f"design effect {deff:.2f} = 1 + ({format_number(size)} − 1) × ICC {icc:g}"
        )
    if approximation == "normal":
        df = math.inf
    elif df < 1:
        raise ValueError("too few records or clusters for this design")
    m = multiplier(power=power, alpha=alpha, df=df)
    se = effective * math.sqrt(weight * deff)
    mde = m * se
    standardised = mde / spread
    baseline, ratio = None, None
    if outcome_type == "binary":
        mde, se, unit = 100.0 * mde, se, "percentage points"
        baseline = baseline_rate
    elif outcome_type == "count":
        assert baseline_rate is not None
        se = se / baseline_rate  # delta method: se of the log of a mean
        ratio = math.exp(m * se)
        change = (1 - 1 / ratio) if better == "lower" else (ratio - 1)
        mde, baseline = baseline_rate * change, baseline_rate
    return Mde(
        outcome=outcome,
        design=design,
        mde=mde,
        mde_standardised=standardised,
        n=int(sum(counts)),
        assumptions=tuple(said),
        label=label or outcome,
        outcome_type=outcome_type,
        unit=unit,
        sample=sample,
        n_pilot=int(counts[0] if design != "did" or paired else sum(counts[:2])),
        n_comparison=_comparison_count(design, counts, paired),
        power=power,
        alpha=alpha,
        multiplier=m,
        se=se,
        df=df,
        design_effect=deff,
        baseline=baseline,
        rate_ratio=ratio,
        better=better,
        hoped_change=hoped_change,
    )


def plan_pilot(card: PilotCard, frame: pd.DataFrame) -> list[Mde]:
    """Return, for each outcome, the smallest change this pilot's data can expect to detect.

    Sample sizes, the outcome's spread (from the before period, or else the
    comparison group), clusters and the card's ``plan`` (power, alpha, ICC) are
    read from the validated rows; where the card has no ICC it is estimated from
    the before-period data and said so.
    """
    return [_plan_outcome(card, frame, outcome) for outcome in card.outcomes]


def power_summary(mdes: Sequence[Mde]) -> str:
    """Return plain sentences, one paragraph an outcome, saying what the pilot can detect."""
    return "\n\n".join(_describe(mde) for mde in mdes)


# --- the arithmetic -------------------------------------------------------------------------------


def _quantile(p: float, df: float) -> float:
    return float(stats.norm.ppf(p) if math.isinf(df) else stats.t.ppf(p, df))


def _spread(outcome_type: str, sd: float | None, rate: float | None, said: list[str]) -> float:
    """Return the outcome's sd, from the baseline rate for binary and Poisson counts."""
    if outcome_type == "binary":
        if rate is None or not 0 < rate < 1:
            raise ValueError("a binary outcome needs a baseline rate between 0 and 1")
        said.append(
            f"Baseline rate {format_number(100 * rate)}%, with spread √(p(1 − p)) in every group"
        )
        return sd if sd is not None else math.sqrt(rate * (1 - rate))
    if outcome_type == "count":
        if rate is None or rate <= 0:
            raise ValueError("a count outcome needs a baseline mean count above 0")
        said.append(
            "Counts judged on the rate-ratio scale by the delta method (the log of a mean "
            f"count has variance sd²/(n × mean²)), baseline mean {format_number(rate)}"
            + (", Poisson spread" if sd is None else "")
        )
        return sd if sd is not None else math.sqrt(rate)
    if sd is None or sd <= 0:
        raise ValueError("a continuous outcome needs its standard deviation (sd > 0)")
    return sd


def _pair(counts: Counts) -> tuple[int, int]:
    return (counts, counts) if isinstance(counts, int) else counts


def _layout(
    design: str,
    n_pilot: Counts,
    n_comparison: Counts | None,
    periods: tuple[int, int] | None,
    paired: bool,
    noun: str,
) -> tuple[float, float, tuple[int, ...], int, str]:
    """Return the variance weight, df, the counts, the groups compared and the sample words."""
    if design == "its":
        if periods is None or min(periods) < 1 or sum(periods) < 5:
            raise ValueError("an interrupted time series needs periods=(before, after), 5+ in all")
        before, after = periods
        return (
            _its_weight(before, after),
            before + after - (4 if after > 1 else 3),
            (int(n_pilot if isinstance(n_pilot, int) else sum(n_pilot)),),
            1,
            f"{before:,} time points before the change and {after:,} after",
        )
    if design == "pre_post":
        if paired:
            n = int(n_pilot if isinstance(n_pilot, int) else min(n_pilot))
            return 1 / n, n - 1, (n,), 1, f"{n:,} {noun} seen both before and after the change"
        b, a = _pair(n_pilot)
        return 1 / b + 1 / a, b + a - 2, (b, a), 1, f"{b:,} {noun} before the change and {a:,} after"
    if n_comparison is None:
        raise ValueError(f"design '{design}' needs n_comparison")
    if design == "rct" or paired:
        p = int(n_pilot if isinstance(n_pilot, int) else sum(n_pilot))
        c = int(n_comparison if isinstance(n_comparison, int) else sum(n_comparison))
        words = f"{p:,} {noun} in the pilot and {c:,} in the comparison group"
        if paired:
            words = words.replace(" in the comparison", " in the comparison group,").replace(
                "group,", "group, each seen before and after"
            )
        return 1 / p + 1 / c, p + c - 2, (p, c), 2, words
    if design != "did":
        raise ValueError(f"unknown design '{design}'")
    cells = (*_pair(n_pilot), *_pair(n_comparison))
    p, c = cells[0] + cells[1], cells[2] + cells[3]
    words = f"{p:,} {noun} in the pilot and {c:,} in the comparison group (before and after)"
    return sum(1 / n for n in cells), sum(cells) - 4, cells, 2, words


def _comparison_count(design: str, counts: tuple[int, ...], paired: bool) -> int | None:
    if design in {"pre_post", "its"}:
        return None
    return int(counts[1] if design == "rct" or paired else counts[2] + counts[3])


def _its_weight(before: int, after: int) -> float:
    """Return the level change's variance over sd² in a segmented regression on time points."""
    time = np.arange(before + after, dtype="float64")
    post = (time >= before).astype("float64")
    columns = [np.ones_like(time), time, post]
    if after > 1:
        columns.append((time - before) * post)
    X = np.column_stack(columns)
    return float(np.linalg.inv(X.T @ X)[2, 2])


