"""A finding: one outcome's estimated change, always with its uncertainty."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Finding(BaseModel):
    """One outcome's estimated change with its standard error, 95% CI, n and method."""

    model_config = ConfigDict(frozen=True, extra="allow")

    outcome: str
    label: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    method: str
    better: str
    summary: str
    scale: str = "difference"
    unit: str = ""
    notes: tuple[str, ...] = ()

    @property
    def is_clear(self) -> bool:
        """Return True when the 95% interval excludes no change."""
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def improved(self) -> bool | None:
        """Return True/False when clearly better/worse, None when we can't tell yet."""
        if not self.is_clear:
            return None
        return (self.estimate < 0) == (self.better == "lower")
