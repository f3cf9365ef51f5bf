"""Planning power: the smallest real change a pilot of its size can expect to detect.

The minimum detectable effect is MDE = M x SE: the standard error the design's
estimate will have times M = t(1 - alpha/2, df) + t(power, df), two-sided
(Bloom 1995, "Minimum detectable effects: a simple way to report the
statistical power of experimental designs", Evaluation Review 19(5):547-556,
with the normal z, M = 2.80 at 80% power and 5% significance; the t form with
the design's degrees of freedom and the cluster design effect 1 + (m - 1) x ICC
as in Bloom 2006, "The core analytics of randomized experiments for social
research", and Djimeu & Houndolo 2016, 3ie Working Paper 26). SE by design:

- ``rct``, two independent groups: sd x sqrt(1/n1 + 1/n0)
- ``pre_post``, different records: sd x sqrt(1/n_before + 1/n_after); the same
  units (paired): sd_change / sqrt(n), sd_change = sd x sqrt(2 (1 - correlation))
- ``did``, different records each period: sd x sqrt(sum of 1/n over the four
  cells); the same units (panel): sd_change x sqrt(1/n_pilot + 1/n_comparison),
  the units' before/after changes compared (collapsing, as Bertrand, Duflo &
  Mullainathan 2004 advise)
- ``its``: the level change's OLS standard error in a segmented regression on
  the series' time points, with no autocorrelation; the test is evalkit's
  (Newey-West t against a bootstrap critical value), so Bloom's formula takes
  the critical value that matches that test's power (``planned_critical``)

Binary outcomes use sd = sqrt(p (1 - p)) at the baseline rate p, in percentage
points. Counts are judged on the rate-ratio scale by the delta method: the log
of a mean count has variance sd^2 / (n x mean^2), the baseline mean and spread
taken to hold in every group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.card import PilotCard
from evalkit.estimate._its_interval import planned_critical
from evalkit.estimate.wording import format_number, in_sentence
from evalkit.quality.disclosure import is_small, is_small_share

PlanDesign = Literal["rct", "pre_post", "did", "its"]
Counts = int | tuple[int, int]  # the same number in each period, or (before, after)


@dataclass(frozen=True)
class Mde:
    """The smallest real change one outcome's pilot can expect to detect, and why.

    ``mde`` is in the outcome's units (percentage points for binary outcomes),
    a fall when lower is better for binary outcomes and counts; ``rate_ratio``
    is a count's detectable ratio. ``se`` is the estimate's standard error with
    no change, on the test's scale (a proportion for binary outcomes, the log
    rate ratio for counts); ``treated_share`` is the part of its variance from
    the changed group, whose spread moves with a binary rate or a count's mean.
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
    treated_share: float = 0.0
    critical: float | None = None  # the test's critical value when it is not the t quantile
    clusters: int | None = None
    #: clusters (of the same size and pilot share) needed to detect the hoped-for change
    clusters_needed: int | None = None

    def power_to_detect(self, change: float) -> float:
        """Return the chance that a real change of this size (in ``mde``'s units) is found."""
        distance = abs(change) / (100.0 if self.outcome_type == "binary" else 1.0)
        if self.outcome_type == "count" and self.baseline is not None:
            after = self.baseline + change
            distance = math.inf if after <= 0 else abs(math.log(after / self.baseline))
        se = _alternative_se(self, distance, 1.0 if change >= 0 else -1.0)
        critical = self.critical
        if critical is None:
            critical = _quantile(1 - self.alpha / 2, self.df)
        shift = distance / se - critical
        # Bloom's approximation: the far tail of the two-sided test is left out
        return float(stats.norm.cdf(shift) if math.isinf(self.df) else stats.t.cdf(shift, self.df))

    def detectable(self, hoped_change: float | None = None) -> bool | None:
        """Return whether a hoped-for change (the card's by default) is at least the MDE."""
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
    min_count: int | None = None,
    baseline_records: int | None = None,
    pilot_clusters: int | None = None,
) -> Mde:
    """Return the smallest true change a pilot of this size would detect.

    ``n_pilot``/``n_comparison`` count records (units in paired and panel
    designs); for ``pre_post`` and ``did`` a pair is (before, after), one number
    that many in each period. ``sd_change`` or ``correlation`` makes ``pre_post``
    paired and ``did`` a panel of the same units. ``clusters`` (in all) needs
    ``icc``; ``cluster_size`` defaults to records per cluster per period. ``its``
    needs ``periods`` = (time points before, after) and ``sd``, the series'
    spread around its trend. ``baseline_rate`` is the proportion (binary) or the
    mean count (count). ``better`` is the direction a binary or count MDE is
    solved in (their spread moves with the rate). ``approximation="normal"``
    gives Bloom's (1995) z multiplier.

    With ``clusters``, the test planned for is the one evalkit will run
    (:mod:`evalkit.estimate.inference`): with ``pilot_clusters`` of them (or
    as few left for comparison) at most two, randomisation inference, which
    cannot show any change at ``alpha`` when there are fewer than 1 / alpha
    ways to choose the pilot's clusters; with few clusters otherwise, the wild
    cluster bootstrap, planned as a t test on clusters - 2 degrees of freedom
    (its power is close to that; MacKinnon and Webb 2018). When the hoped-for
    change is out of reach, ``clusters_needed`` says how many clusters of the
    same size, split the same way, would reach it.

    ``min_count`` is for sizes read from a pilot's data (disclosure control):
    no size or cluster size below it is stated (:func:`_sizes`), nor a binary
    baseline rate from ``baseline_records`` records with fewer than that many
    with (or without) the outcome.
    """
    if not (0 < power < 1 and 0 < alpha < 1):
        raise ValueError("power and alpha must be between 0 and 1")
    said = [*notes]
    shown_rate = True
    if min_count is not None and baseline_records is not None and baseline_rate is not None:
        hits = baseline_rate * baseline_records
        shown_rate = not is_small_share(hits, baseline_records, min_count)
    spread = _spread(outcome_type, sd, baseline_rate, said, shown_rate)
    paired = design in {"pre_post", "did"} and (sd_change is not None or correlation is not None)
    if paired and sd_change is None:
        assert correlation is not None
        sd_change = spread * math.sqrt(2 * (1 - correlation))
        said.append(f"Before/after correlation {format_number(correlation)} assumed")
    layout = _layout(design, n_pilot, n_comparison, periods, paired, noun, min_count)
    df, deff = layout.df, 1.0
    if clusters is not None and design != "its":
        if icc is None:
            raise ValueError("a clustered design needs the ICC")
        if clusters <= layout.groups:
            raise ValueError(f"{clusters} clusters are too few for this design")
        size = cluster_size or layout.n / clusters / (1 if paired or design == "rct" else 2)
        deff, df = design_effect(size, icc), clusters - layout.groups
        sizes = (
            f"of about {format_number(size)} {noun} each: design effect "
            f"{deff:.2f} = 1 + ({format_number(size)} − 1) × ICC {icc:.2g}"
        )
        if min_count is not None and is_small(size, min_count):
            # the design effect and the ICC would give the cluster size back
            sizes = f"of fewer than {min_count} {noun} each on average (design effect counted)"
        said.append(
            f"{clusters} clusters {sizes}"
            + (
                ""
                if paired or design == "rct"
                else ", clusters taken as new in each period "
                "(cautious when differences between clusters last)"
            )
        )
    chosen_ways = None
    if clusters is not None and design != "its":
        chosen_ways, words = _cluster_test(clusters, pilot_clusters, alpha)
        said.append(words)
    if approximation == "normal":
        df = math.inf
    elif df < 1:
        raise ValueError("too few records or clusters for this design")
    m = multiplier(power=power, alpha=alpha, df=df)
    critical = None
    if design == "its":
        assert layout.design is not None
        critical = planned_critical(layout.design, 2, alpha, power, df)
        m = critical + _quantile(power, df)
        said.append(
            f"Tested as evalkit does: Newey-West t against a bootstrap critical value "
            f"(here {critical:.2f} in effect, rather than {_quantile(1 - alpha / 2, df):.2f})"
        )
    se = (sd_change if paired and sd_change is not None else spread) * math.sqrt(
        layout.weight * deff
    )
    if outcome_type == "count" and baseline_rate is not None:
        se = se / baseline_rate  # delta method: the se of the log of a mean
    varies = outcome_type != "continuous" and not paired
    mde = Mde(
        outcome=outcome,
        design=design,
        mde=math.nan,
        mde_standardised=math.nan,
        n=layout.n,
        assumptions=tuple(said),
        label=label or outcome,
        outcome_type=outcome_type,
        unit="percentage points" if outcome_type == "binary" else unit,
        sample=layout.sample,
        n_pilot=layout.n_pilot,
        n_comparison=layout.n_comparison,
        power=power,
        alpha=alpha,
        multiplier=m,
        se=se,
        df=df,
        design_effect=deff,
        baseline=baseline_rate if outcome_type != "continuous" else None,
        better=better,
        hoped_change=hoped_change,
        treated_share=layout.treated / layout.weight if varies else 0.0,
        critical=critical,
        clusters=clusters if design != "its" else None,
    )
    if chosen_ways is not None and chosen_ways < 1 / alpha:
        mde = replace(mde, multiplier=math.inf)  # no p-value can be as small as alpha
    solved = _solve(mde, spread)
    if clusters is None or design == "its" or hoped_change is None or solved.detectable():
        return solved

    def with_clusters(more: int) -> Mde:
        factor = more / clusters
        return minimum_detectable_effect(
            design=design,
            n_pilot=_scaled(n_pilot, factor),
            n_comparison=_scaled(n_comparison, factor) if n_comparison is not None else None,
            sd=sd,
            power=power,
            alpha=alpha,
            clusters=more,
            icc=icc,
            outcome_type=outcome_type,
            baseline_rate=baseline_rate,
            sd_change=sd_change,
            correlation=correlation,
            cluster_size=cluster_size,
            better=better,
            hoped_change=hoped_change,
            pilot_clusters=(
                max(1, round(pilot_clusters * factor)) if pilot_clusters is not None else None
            ),
        )

    for more in range(clusters + 1, MAX_PLANNED_CLUSTERS + 1):
        if with_clusters(more).detectable():
            return replace(solved, clusters_needed=more)
    return solved


#: The most clusters ``clusters_needed`` looks for before saying "more than this".
MAX_PLANNED_CLUSTERS = 400


def _cluster_test(
    clusters: int, pilot_clusters: int | None, alpha: float
) -> tuple[int | None, str]:
    """Return the ways to choose the pilot's clusters (when randomisation decides) and words."""
    if pilot_clusters is not None:
        fewest = min(pilot_clusters, clusters - pilot_clusters)
        if fewest <= 2:
            ways = math.comb(clusters, pilot_clusters)
            words = (
                f"With {pilot_clusters} of the {clusters} clusters in the pilot, evalkit tests "
                f"by randomisation over clusters: {ways:,} ways to choose them"
            )
            if ways < 1 / alpha:
                words += (
                    f", so even the largest change could arise by chance 1 time in {ways} "
                    f"and none can be shown at {_percent(alpha)} significance"
                )
            return ways, words
    if clusters < 30 or (
        pilot_clusters is not None and min(pilot_clusters, clusters - pilot_clusters) < 10
    ):
        return None, (
            "With so few clusters evalkit tests by a wild cluster bootstrap; planned here as "
            "a t test on the clusters, whose power is close to it"
        )
    return None, "Tested with cluster-robust errors, as evalkit does with many clusters"


def _scaled(counts: Counts, factor: float) -> Counts:
    """Return sizes grown by ``factor`` (more clusters of the same size)."""
    if isinstance(counts, tuple):
        return (max(1, round(counts[0] * factor)), max(1, round(counts[1] * factor)))
    return max(1, round(counts * factor))


def plan_pilot(card: PilotCard, frame: pd.DataFrame) -> list[Mde]:
    """Return, for each outcome, the smallest change this pilot's data can expect to detect.

    Sizes by group and period, clusters, the outcome's spread (from the before
    period, or else the comparison group) come from the validated rows, power,
    alpha and ICC from the card's ``plan``; with no ICC in the card it is
    estimated from the data, and the assumptions say so.
    """
    # the data-reading half lives in its own module, which builds on this one
    from evalkit.estimate._power_data import plan_outcome

    return [plan_outcome(card, frame, outcome) for outcome in card.outcomes]


def power_summary(mdes: Sequence[Mde]) -> str:
    """Return plain sentences, a paragraph an outcome, saying what the pilot can detect."""
    return "\n\n".join(_describe(mde) for mde in mdes)


# --- the arithmetic -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    weight: float  # the estimate's variance over sd²
    treated: float  # the part of the weight from the changed group (pilot, after)
    df: float
    n: int
    n_pilot: int
    n_comparison: int | None
    groups: int
    sample: str
    design: np.ndarray | None = None  # the planned segmented regression (its)


def _quantile(p: float, df: float) -> float:
    return float(stats.norm.ppf(p) if math.isinf(df) else stats.t.ppf(p, df))


def _spread(
    outcome_type: str, sd: float | None, rate: float | None, said: list[str], shown: bool = True
) -> float:
    """Return the outcome's sd: from the baseline rate for binary outcomes and Poisson counts."""
    if outcome_type == "binary":
        if rate is None or not 0 < rate < 1:
            raise ValueError("a binary outcome needs a baseline rate between 0 and 1")
        if sd is not None:
            return sd
        said.append(
            (f"Baseline rate {format_number(100 * rate)}%" if shown else "Baseline rate not shown")
            + "; spread √(p(1 − p)) at each rate"
        )
        return math.sqrt(rate * (1 - rate))
    if outcome_type == "count":
        if rate is None or rate <= 0:
            raise ValueError("a count outcome needs a baseline mean count above 0")
        said.append(
            "Judged as a rate ratio by the delta method (the log of a mean count has variance "
            f"sd²/(n × mean²), dispersion as at baseline), baseline mean {format_number(rate)}"
            + (", Poisson spread" if sd is None else "")
        )
        return sd if sd is not None else math.sqrt(rate)
    if sd is None or not sd > 0:
        raise ValueError("a continuous outcome needs its standard deviation (sd > 0)")
    return sd


def _layout(
    design: str,
    n_pilot: Counts,
    n_comparison: Counts | None,
    periods: tuple[int, int] | None,
    paired: bool,
    noun: str,
    min_count: int | None = None,
) -> _Layout:
    """Return the variance weight, degrees of freedom and sizes of one design.

    With ``min_count``, sizes are worded as :func:`_sizes` says (disclosure control).
    """

    def pair(counts: Counts) -> tuple[int, int]:
        return (counts, counts) if isinstance(counts, int) else counts

    def total(counts: Counts) -> int:
        return counts if isinstance(counts, int) else sum(counts)

    given = [n_pilot, n_comparison] if n_comparison is not None else [n_pilot]
    if min(min(pair(counts)) for counts in given) < 1:
        raise ValueError("every group and period needs at least one record")

    if design == "its":
        if periods is None or min(periods) < 1 or sum(periods) < 5:
            raise ValueError("an interrupted time series needs periods=(before, after), 5+ in all")
        b, a = periods
        words = f"{b:,} time points before the change and {a:,} after"
        n = total(n_pilot)
        X = _its_design(b, a)
        weight = float(np.linalg.inv(X.T @ X)[2, 2])
        return _Layout(weight, 0.0, b + a - X.shape[1], n, n, None, 1, words, X)
    if design == "pre_post":
        if paired:
            n = n_pilot if isinstance(n_pilot, int) else min(n_pilot)
            words = f"{_sizes([n], min_count)[0]} {noun} seen both before and after the change"
            return _Layout(1 / n, 0.0, n - 1, n, n, None, 1, words)
        b, a = pair(n_pilot)
        before, after = _sizes([b, a], min_count)
        words = f"{before} {noun} before the change and {after} after"
        return _Layout(1 / b + 1 / a, 1 / a, b + a - 2, b + a, b + a, None, 1, words)
    if n_comparison is None or design not in {"rct", "did"}:
        raise ValueError(
            f"design '{design}' needs n_comparison and must be rct, did, pre_post, its"
        )
    p, c = total(n_pilot), total(n_comparison)
    cells = (*pair(n_pilot), *pair(n_comparison))
    separate = design == "rct" or paired
    small_cell = (
        not separate and min_count is not None and any(is_small(n, min_count) for n in cells)
    )
    # a group's total is as telling as its cells when one of them is hidden
    pilot, comparison = _sizes([p, c], min_count, hide=small_cell)
    words = f"{pilot} {noun} in the pilot and {comparison} in the comparison group"
    if separate:
        words += ", each seen before and after" if paired else ""
        return _Layout(1 / p + 1 / c, 1 / p, p + c - 2, p + c, p, c, 2, words)
    weight = sum(1 / n for n in cells)  # four independent cells: their variances add
    words += " (before and after)"
    if small_cell:
        words += f", fewer than {min_count} in at least one group and period"
    return _Layout(weight, 1 / cells[1], p + c - 4, p + c, p, c, 2, words)


def _sizes(counts: Sequence[int], min_count: int | None, *, hide: bool = False) -> list[str]:
    """Return sizes for the words: exact, or when any is below ``min_count`` (or ``hide``)
    "fewer than 10" and "10 or more", as one exact size beside the published n gives another."""
    if min_count is None or not (hide or any(is_small(n, min_count) for n in counts)):
        return [f"{n:,}" for n in counts]
    return [
        f"fewer than {min_count}" if is_small(n, min_count) else f"{min_count} or more"
        for n in counts
    ]


def _alternative_se(mde: Mde, distance: float, sign: float) -> float:
    """Return the standard error when the changed group has moved ``distance`` on the test's scale.

    A binary group's variance is p(1 - p) at its new rate; a count's log mean has
    variance dispersion / mean, so it shrinks as the mean grows.
    """
    base = mde.baseline
    if not mde.treated_share or base is None:
        return mde.se
    if mde.outcome_type == "binary":
        moved = min(max(base + sign * distance, 0.0), 1.0)
        ratio = moved * (1 - moved) / (base * (1 - base))
    else:
        ratio = math.exp(-sign * distance)
    return mde.se * math.sqrt(1 - mde.treated_share + mde.treated_share * ratio)


def _solve(mde: Mde, spread: float) -> Mde:
    """Return the Mde with its size filled in: M x SE, SE taken at the change itself."""
    sign = -1.0 if mde.better == "lower" and mde.outcome_type != "continuous" else 1.0
    distance, limit = mde.multiplier * mde.se, math.inf
    if mde.outcome_type == "binary" and mde.baseline is not None:
        limit = mde.baseline if sign < 0 else 1 - mde.baseline
    for _ in range(200):  # a fixed point: converges fast while the spread moves slowly
        again = mde.multiplier * _alternative_se(mde, distance, sign)
        if again > limit or again > 50:
            distance = math.inf
            break
        done, distance = abs(again - distance) < 1e-12, again
        if done:
            break
    size, ratio = distance, None
    if mde.outcome_type == "binary":
        size = 100.0 * distance
        spread = 100.0 * spread
    elif mde.outcome_type == "count" and mde.baseline is not None:
        ratio = math.exp(distance)
        size = mde.baseline * ((1 - 1 / ratio) if sign < 0 else (ratio - 1))
    return replace(mde, mde=size, mde_standardised=size / spread, rate_ratio=ratio)


def _its_design(before: int, after: int) -> np.ndarray:
    """Return a planned segmented regression on time points: [1, t, after, (t - start) after]."""
    time = np.arange(before + after, dtype="float64")
    post = (time >= before).astype("float64")
    columns = [np.ones_like(time), time, post]
    if after > 1:
        columns.append((time - before) * post)
    return np.column_stack(columns)


# --- reading a pilot's data -----------------------------------------------------------------------


def _percent(share: float) -> str:
    return f"{100 * share:.1f}".rstrip("0").rstrip(".") + "%"


def _describe(mde: Mde) -> str:
    """Return what one outcome's pilot can detect, and whether that covers the hoped change."""
    label = in_sentence(mde.label)
    unit = f" {mde.unit}" if mde.unit else ""
    change = f"a change in {label} of about {format_number(mde.mde)}{unit} or more"
    if mde.outcome_type == "binary":
        change = change.replace("a change", "a fall" if mde.better == "lower" else "a rise")
    if mde.rate_ratio is not None and mde.baseline is not None:
        fall = mde.better == "lower"
        share = (1 - 1 / mde.rate_ratio) if fall else (mde.rate_ratio - 1)
        change = (
            f"a {'fall' if fall else 'rise'} in {label} of about "
            f"{format_number(100 * share)}% or more, about {format_number(mde.mde)}{unit} "
            f"from an average of {format_number(mde.baseline)}"
        )
    text = (
        f"With {mde.sample}, this pilot can expect to detect {change} "
        f"({_percent(mde.power)} power, {_percent(mde.alpha)} significance)."
    )
    if not math.isfinite(mde.mde):
        text = (
            f"With {mde.sample}, this pilot is too small to expect to detect even the largest "
            f"possible change in {label} ({_percent(mde.power)} power, "
            f"{_percent(mde.alpha)} significance)."
        )
    if mde.hoped_change is not None:
        chance = mde.power_to_detect(mde.hoped_change)
        hoped = f"The team hopes for {format_number(abs(mde.hoped_change))}{unit}"
        if chance >= mde.power - 1e-9:
            text += f" {hoped}: the pilot is big enough."
        elif chance >= 0.5:
            text += (
                f" {hoped}: the pilot is a little small for that: a real change of that size "
                f"would be picked up about {_percent(round(chance, 2))} of the time, short of "
                f"the {_percent(mde.power)} planned for."
            )
        else:
            text += (
                f" {hoped}: the pilot is probably too small to detect it: a real change of "
                "that size would be missed more often than not."
            )
    if mde.clusters_needed is not None:
        text += (
            f" To expect to detect it, about {mde.clusters_needed} clusters would be needed "
            f"rather than {mde.clusters}, each as large as now and split between pilot and "
            "comparison the same way."
        )
    elif mde.clusters is not None and mde.detectable() is False:
        text += (
            f" Even {MAX_PLANNED_CLUSTERS} clusters like these would not be enough: the "
            "change hoped for is small beside how much clusters differ."
        )
    if mde.assumptions:
        text += (
            " How this was worked out: "
            + "; ".join(in_sentence(note) for note in mde.assumptions)
            + "."
        )
    return text
