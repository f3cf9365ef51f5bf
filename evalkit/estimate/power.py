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
- ``synthetic``: from the places' figures, its placebo test rehearsed on the
  periods before the change (:mod:`evalkit.estimate._power_synthetic`)

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

import pandas as pd
from scipy import stats

from evalkit.card import PilotCard
from evalkit.estimate._its_interval import planned_critical
from evalkit.estimate._power_layout import (
    MAX_PLANNED_CLUSTERS,
    Counts,
    design_layout,
    outcome_spread,
    scaled_counts,
    t_quantile,
)
from evalkit.estimate._power_words import cluster_test, describe_mde
from evalkit.estimate.registry import PlanLayout
from evalkit.estimate.wording import format_number
from evalkit.quality.disclosure import is_small, is_small_share

__all__ = [
    "MAX_PLANNED_CLUSTERS",
    "Counts",
    "Mde",
    "design_effect",
    "minimum_detectable_effect",
    "multiplier",
    "plan_pilot",
    "power_summary",
]

#: The layouts planning knows (the registry's ``plan_as``): what ``design=`` takes.


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
    #: what the clusters are called when the words name them (a synthetic comparison's places)
    cluster_word: str = ""

    def power_to_detect(self, change: float) -> float:
        """Return the chance that a real change of this size (in ``mde``'s units) is found."""
        distance = abs(change) / (100.0 if self.outcome_type == "binary" else 1.0)
        if self.outcome_type == "count" and self.baseline is not None:
            after = self.baseline + change
            distance = math.inf if after <= 0 else abs(math.log(after / self.baseline))
        se = _alternative_se(self, distance, 1.0 if change >= 0 else -1.0)
        critical = self.critical
        if critical is None:
            critical = t_quantile(1 - self.alpha / 2, self.df)
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
    return t_quantile(1 - alpha / 2, df) + t_quantile(power, df)


def design_effect(cluster_size: float, icc: float) -> float:
    """Return how much clustering inflates the variance: 1 + (m - 1) x ICC."""
    return 1.0 + (cluster_size - 1.0) * icc


def minimum_detectable_effect(
    *,
    design: PlanLayout,
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
    no size or cluster size below it is stated
    (:func:`~evalkit.estimate._power_layout.size_words`), nor a binary baseline
    rate from ``baseline_records`` records with fewer than that many with (or
    without) the outcome.
    """
    if not (0 < power < 1 and 0 < alpha < 1):
        raise ValueError("power and alpha must be between 0 and 1")
    if design == "synthetic":
        raise ValueError(
            "a synthetic comparison is planned from its places' figures before the change, "
            "not from sizes: use plan_pilot"
        )
    said = [*notes]
    shown_rate = True
    if min_count is not None and baseline_records is not None and baseline_rate is not None:
        hits = baseline_rate * baseline_records
        shown_rate = not is_small_share(hits, baseline_records, min_count)
    spread = outcome_spread(outcome_type, sd, baseline_rate, said, shown_rate)
    changes = design in {"pre_post", "did"}  # the layouts that can follow the same units
    if changes and sd_change is None and correlation is not None:
        sd_change = spread * math.sqrt(2 * (1 - correlation))
        said.append(f"Before/after correlation {format_number(correlation)} assumed")
    paired = changes and sd_change is not None
    layout = design_layout(design, n_pilot, n_comparison, periods, paired, noun, min_count)
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
        chosen_ways, words = cluster_test(clusters, pilot_clusters, alpha)
        said.append(words)
    if approximation == "normal":
        df = math.inf
    elif df < 1:
        raise ValueError("too few records or clusters for this design")
    m = multiplier(power=power, alpha=alpha, df=df)
    critical = None
    if layout.regressors is not None:  # a time series, tested as evalkit tests one
        critical = planned_critical(layout.regressors, 2, alpha, power, df)
        m = critical + t_quantile(power, df)
        said.append(
            f"Tested as evalkit does: Newey-West t against a bootstrap critical value "
            f"(here {critical:.2f} in effect, rather than {t_quantile(1 - alpha / 2, df):.2f})"
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
            n_pilot=scaled_counts(n_pilot, factor),
            n_comparison=scaled_counts(n_comparison, factor) if n_comparison is not None else None,
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
            # no hoped-for change: a larger plan that misses it must not search again, which
            # made the search exponential in the clusters it had to add
            pilot_clusters=(
                max(1, round(pilot_clusters * factor)) if pilot_clusters is not None else None
            ),
        )

    for more in range(clusters + 1, MAX_PLANNED_CLUSTERS + 1):
        if with_clusters(more).detectable(hoped_change):
            return replace(solved, clusters_needed=more)
    return solved


def plan_pilot(card: PilotCard, frame: pd.DataFrame) -> list[Mde]:
    """Return, for each outcome, the smallest change this pilot's data can expect to detect.

    Sizes by group and period, clusters, the outcome's spread (from the before
    period, or else the comparison group) come from the validated rows, power,
    alpha and ICC from the card's ``plan``; with no ICC in the card it is
    estimated from the data, and the assumptions say so. The design is sized as
    the layout its registry entry plans it as (``plan_as``); EstimationError
    when it has none.
    """
    # the data-reading half lives in its own module, which builds on this one
    from evalkit.estimate._power_data import plan_layout, plan_outcome

    layout = plan_layout(card)  # EstimationError for a design that cannot be planned
    return [plan_outcome(card, frame, outcome, layout) for outcome in card.outcomes]


def power_summary(mdes: Sequence[Mde]) -> str:
    """Return plain sentences, a paragraph an outcome, saying what the pilot can detect."""
    return "\n\n".join(describe_mde(mde) for mde in mdes)


# --- solving for the size ---------------------------------------------------------------------


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
