"""A finding: one outcome's estimated change, always with its uncertainty."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

#: Scales on which "no change" is 1, not 0.
RATIO_SCALES = frozenset({"rate ratio", "odds ratio", "risk ratio"})


class Finding(BaseModel):
    """One outcome's estimated change with its standard error, 95% CI, n and method."""

    model_config = ConfigDict(frozen=True, extra="allow")

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

    @field_validator("ci_low", "ci_high", mode="before")
    @classmethod
    def _open_end(cls, value: Any, info: Any) -> Any:
        """Read a missing end (results.json's null) as an interval without end on that side."""
        if value is None:
            return -math.inf if info.field_name == "ci_low" else math.inf
        return value

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
