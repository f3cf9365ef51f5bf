"""Value for money as results.json keeps it (one outcome's sums, its acceptability curve),
and how its sums and chances are written.

:mod:`evalkit.estimate.value` works them out; :mod:`evalkit.results` writes and
reads them (``value_for_money``), and the report and the comparison say them.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    # a newer evalkit may add keys (without a schema_version bump): read past them
    model_config = ConfigDict(frozen=True, extra="ignore")


class CurvePoint(_Frozen):
    """The probability the pilot is worth its cost if one unit of outcome is worth ``value``."""

    value: float
    probability: float


class ValueForMoney(_Frozen):
    """One outcome's value for money, in the card's currency, per participant and per cycle."""

    outcome: str
    label: str
    currency: str
    #: why nothing is computed, in words; None when it is
    not_computed: str | None = None
    participants: int | None = None
    total_cost: float | None = None
    cost_per_participant: float | None = None
    #: the improvement per participant (better is positive), in the outcome's unit or, for
    #: a yes/no outcome, as a share of participants (0.05: five more in every hundred)
    improvement: float | None = None
    improvement_low: float | None = None
    improvement_high: float | None = None
    #: the cost of one unit of change; None when unbounded
    cost_per_unit: float | None = None
    cost_per_unit_low: float | None = None
    cost_per_unit_high: float | None = None
    #: the improvement's interval reaches no change or harm: no cost per unit can be given
    unbounded: bool = False
    #: the cost per unit at the interval's better end: the least it could be
    cost_per_unit_best: float | None = None
    value_per_unit: float | None = None
    net_benefit: float | None = None  # for the cycle: participants x per participant
    net_benefit_low: float | None = None
    net_benefit_high: float | None = None
    probability_worth_it: float | None = None  # at value_per_unit
    acceptability: tuple[CurvePoint, ...] = ()
    method: str = ""


#: Currency signs written before the sum; any other currency is written by its code.
SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money(amount: float, currency: str) -> str:
    """Return an amount as people write it: £25,000, £628, £4.20, -£1,200; whole above 100."""
    sign = "-" if amount < 0 else ""
    size = abs(amount)
    text = f"{size:,.0f}" if size >= 100 else f"{size:,.2f}".removesuffix(".00")
    return f"{sign}{SIGNS[currency]}{text}" if currency in SIGNS else f"{sign}{currency} {text}"


def chance_words(share: float) -> str:
    """Return a probability as a percentage, never "0%" or "100%" for what merely is rare."""
    if share < 0.01:
        return "under 1%"
    if share > 0.99:
        return "over 99%"
    return f"{math.floor(share * 100 + 0.5)}%"
