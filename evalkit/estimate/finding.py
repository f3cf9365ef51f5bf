"""A finding: one outcome's estimated change, always with its uncertainty.

Every part a design adds (an odds or rate ratio, the ITS slope change, the
event study, the design's own checks, the few-cluster inference record) is a
typed model here, so results.json has one schema and nothing reads a finding
with ``getattr``. A part is written only when its design set it, and within a
part only the fields that were set: a results.json says what was done, no more.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

#: Scales on which "no change" is 1, not 0.
RATIO_SCALES = frozenset({"rate ratio", "odds ratio", "risk ratio"})


class _Part(BaseModel):
    """A design's part of a finding: frozen, typed, written with only the fields it set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_serializer(mode="wrap")
    def _only_set(self, handler: SerializerFunctionWrapHandler) -> Any:
        dumped = handler(self)
        return {k: v for k, v in dumped.items() if k in self.model_fields_set}


class Interval(_Part):
    """A second estimate beside the headline: its value, interval and p-value."""

    estimate: float
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    se: float | None = None
    #: what the estimate is measured in (a count's mean difference)
    unit: str | None = None
    #: the period a slope is per (an interrupted time series' slope change)
    per: str | None = None


class Bounds(_Part):
    """Another method's interval and p-value for the same estimate, kept for comparison."""

    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    #: degrees of freedom (the CR2 Bell-McCaffrey check)
    df: float | None = None


class Overdispersion(_Part):
    """The Cameron-Trivedi test of Poisson variance behind a count's rate ratio."""

    statistic: float
    p_value: float


class EventPoint(_Part):
    """An effect in one period relative to the start (0 is the first period in the pilot)."""

    relative_period: int
    estimate: float
    ci_low: float
    ci_high: float


class Checks(_Part):
    """The design's own checks, as the evidence rating and the report read them."""

    pre_periods: int | None = None
    post_periods: int | None = None
    periods: int | None = None
    few_pre_periods: bool | None = None
    pretrend_p: float | None = None
    staggered: bool | None = None
    hac_lags: int | None = None
    critical_value: float | None = None
    bootstrap_draws: int | None = None
    drift_autocorrelation: float | None = None
    sampling_share: float | None = None
    residual_autocorrelation: float | None = None
    ljung_box_p: float | None = None
    max_abs_std_diff: float | None = None
    clusters: float | None = None
    few_events: bool | None = None
    # a synthetic comparison (evalkit.estimate.synthetic)
    comparison_places: int | None = None
    pre_rmspe: float | None = None
    worse_fits: int | None = None
    placebos: int | None = None
    poor_fit: bool | None = None
    outside_levels: bool | None = None
    outside_hull: bool | None = None
    leave_one_out_shift: float | None = None
    leave_one_out_place: str | None = None
    unstable_weights: bool | None = None
    in_time_periods: int | None = None
    in_time_estimate: float | None = None
    in_time_p: float | None = None


class Alternative(_Part):
    """Another estimator's answer to the same question, shown beside the headline."""

    method: str
    estimate: float
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None


class Inference(_Part):
    """How an interval was found when few clusters (or few units) make the usual one unsafe.

    Counts that would name how many people the result rests on are None.
    """

    method: str
    note: str
    short: str
    cluster_word: str
    clusters: int | None = None
    treated_clusters: int | None = None
    unbounded: bool = False
    #: the scale of the comparison numbers below when not the finding's own units
    scale: str | None = None
    #: the cluster-robust result the method replaced, kept for comparison
    cluster_robust: Bounds | None = None
    # the wild cluster bootstrap
    weights: str | None = None
    draws: int | None = None
    enumerated: bool | None = None
    seed: int | None = None
    cr2_bell_mccaffrey: Bounds | None = None
    # randomisation inference
    assignments: int | None = None
    smallest_p: float | None = None


#: The parts a design may add to a finding (each written only when set).
PARTS = (
    "odds_ratio",
    "rate_ratio",
    "mean_difference",
    "slope_change",
    "log_estimate",
    "log_se",
    "overdispersion",
    "event_study",
    "checks",
    "inference",
    "alternatives",
)


class Finding(BaseModel):
    """One outcome's estimated change with its standard error, 95% CI, n and method."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: str
    label: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    #: None when the tool that wrote the results gave none (the interval is what counts)
    p_value: float | None
    n: int
    method: str
    better: str
    summary: str
    scale: str = "difference"
    unit: str = ""
    notes: tuple[str, ...] = ()
    odds_ratio: Interval | None = None
    rate_ratio: Interval | None = None
    #: a count's difference in means beside its rate ratio
    mean_difference: Interval | None = None
    slope_change: Interval | None = None
    #: a ratio on the log scale, for pooling
    log_estimate: float | None = None
    log_se: float | None = None
    overdispersion: Overdispersion | None = None
    event_study: tuple[EventPoint, ...] | None = None
    checks: Checks | None = None
    inference: Inference | None = None
    #: other estimators of the same change (synthetic control and DiD beside synthetic DiD)
    alternatives: tuple[Alternative, ...] | None = None

    @field_validator("ci_low", "ci_high", mode="before")
    @classmethod
    def _open_end(cls, value: Any, info: Any) -> Any:
        """Read a missing end (results.json's null) as an interval without end on that side."""
        if value is None:
            return -math.inf if info.field_name == "ci_low" else math.inf
        return value

    @model_serializer(mode="wrap")
    def _parts_when_set(self, handler: SerializerFunctionWrapHandler) -> Any:
        dumped = handler(self)
        return {k: v for k, v in dumped.items() if k not in PARTS or v is not None}

    def with_parts(self, **parts: Any) -> Finding:
        """Return this finding with design parts added (plain values are checked into models)."""
        return Finding.model_validate({**self.model_dump(), **parts})

    @property
    def bounded(self) -> bool:
        """Return True when the interval has two ends (with too few places it may have none)."""
        ends = math.isfinite(self.ci_low) and math.isfinite(self.ci_high)
        # a ratio's interval with no lower end reaches 0
        return ends and (self.ci_low > 0 or self.no_change != 1.0)

    @property
    def no_change(self) -> float:
        """Return the value meaning "no change": 1 on a ratio scale, else 0."""
        return 1.0 if self.scale in RATIO_SCALES else 0.0

    @property
    def is_clear(self) -> bool:
        """Return True when the 95% interval excludes no change."""
        return self.ci_low > self.no_change or self.ci_high < self.no_change

    @property
    def improved(self) -> bool | None:
        """Return True/False when clearly better/worse, None when we can't tell yet."""
        if not self.is_clear:
            return None
        return (self.estimate < self.no_change) == (self.better == "lower")
