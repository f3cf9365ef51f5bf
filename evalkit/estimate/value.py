"""Value for money from the pilot's own estimates, carrying their uncertainty.

For each outcome the card's ``costs`` cover, the pilot's extra cost per
participant (``fixed`` shared over the units it served after the change, plus
``per_participant`` or the mean of the data's cost ``column``) is set against
the estimated improvement per participant (the finding's change, signed so
that better is positive; a yes/no outcome's percentage points as a share, so
its unit is one more person with the better outcome). Following HM Treasury's
Magenta Book (2026, value-for-money guidance) and the usual cost-effectiveness
reading (Drummond et al., *Methods for the Economic Evaluation of Health Care
Programmes*, 4th ed., ch. 4 and 11):

- the cost per unit of change (the incremental cost-effectiveness ratio
  against usual service) is ``cost / improvement``, and its 95% interval is
  the cost over each end of the improvement's interval (costs are taken as
  the card gives them, so this is Fieller's interval for a known numerator).
  When the improvement's interval reaches no change (or harm) the ratio is
  unbounded and no number is given;
- with a value ``v`` for one unit, the net benefit is ``v * improvement -
  cost`` per participant (and times the participants for the cycle), with
  the improvement's interval carried through;
- the probability the pilot is worth it at ``v`` (the acceptability curve)
  is the share of draws of the improvement with ``v * improvement > cost``.
  The draws are from the finding's sampling distribution as its interval
  states it: a normal on each side of the estimate, reaching each end of the
  95% interval (two-piece, so an asymmetric interval from a bootstrap or a
  Newcombe interval is kept as it is), seeded, 20,000 draws (a probability's
  Monte-Carlo error at most 0.0035).

Nothing is computed, and the reason is given, when the finding has no
interval, is a rate for an area rather than a change per participant, or the
participants are too few to publish.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.card import Outcome, PilotCard
from evalkit.contract import pilot_mask, post_mask
from evalkit.estimate.finding import Finding
from evalkit.estimate.value_model import CurvePoint, ValueForMoney

#: Draws of the improvement, and their seed (every run gives the same curve).
DRAWS = 20_000
SEED = 20_260_501
#: Points on the acceptability curve, from a value of 0 up to ``CURVE_REACH`` times the
#: cost per unit at the improvement interval's better end (or the card's value, if higher).
CURVE_POINTS = 41
CURVE_REACH = 3.0
_Z = float(stats.norm.ppf(0.975))


def value_for_money(
    card: PilotCard, frame: pd.DataFrame, findings: Sequence[Finding]
) -> tuple[ValueForMoney, ...]:
    """Return the value for money of each finding's outcome; empty when the card has no costs."""
    costs = card.costs
    if costs is None:
        return ()
    served = _served(card, frame)
    participants = _participants(card, served)
    rows = len(served)
    by_id = {o.measure_id: o for o in card.outcomes}
    made = []
    for finding in findings:
        outcome = by_id.get(finding.outcome)
        if outcome is None:
            continue
        value = costs.value.get(outcome.measure_id, costs.value.get(outcome.column))
        blank = ValueForMoney(
            outcome=outcome.measure_id, label=outcome.name, currency=costs.currency
        )
        why = _why_not(card, finding, participants, rows)
        if why is not None:
            made.append(blank.model_copy(update={"not_computed": why}))
            continue
        per_participant = costs.per_participant or 0.0
        if costs.column is not None:
            per_participant = float(served[costs.column].astype("float64").mean())
            if not math.isfinite(per_participant):
                made.append(
                    blank.model_copy(update={"not_computed": "no participant's cost is given"})
                )
                continue
        cost = costs.fixed / participants + per_participant
        centre, low, high = _improvement(finding, outcome)
        made.append(
            _reckon(blank, participants, cost, centre, low, high, value).model_copy(
                update={"method": _METHOD}
            )
        )
    return tuple(made)


_METHOD = (
    "cost per participant over the improvement per participant; interval from the "
    "improvement's 95% interval (costs as given); acceptability from 20,000 seeded draws of "
    "a two-piece normal matching the estimate and its interval"
)


def _served(card: PilotCard, frame: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of the pilot's participants after the change."""
    rows = frame[post_mask(card, frame)]
    if card.data.group is not None:
        rows = rows[pilot_mask(card, rows)]
    return rows


def _participants(card: PilotCard, served: pd.DataFrame) -> int:
    unit = card.data.unit
    return int(served[unit].nunique()) if unit and unit in served else len(served)


def _why_not(card: PilotCard, finding: Finding, participants: int, rows: int) -> str | None:
    """Return why a finding's value for money cannot be given, or None when it can."""
    if card.data.population is not None:
        return (
            "the estimate is a rate for the whole area, not a change for each person the "
            "pilot served"
        )
    if participants < rows:  # units measured again and again: places, or people each month
        return (
            f"the data have many rows for each {card.data.unit or 'unit'} after the change "
            "(a place, or a person, over time), not one for each person the pilot served, so "
            "the change for each person and the cost for each cannot be set side by side"
        )
    if participants < card.min_cell_count:
        return f"the pilot served fewer than {card.min_cell_count} after the change"
    if finding.inference is not None and finding.inference.unbounded:
        return "the estimate has no 95% interval, so its uncertainty cannot be carried"
    part = _per_participant(finding)
    if part is None:
        return (
            f"the estimate is a {finding.scale}, not a number of {finding.unit or 'units'} for "
            "each participant, which a cost for each unit of change needs"
        )
    if not all(np.isfinite(part)):
        return "the estimate has no 95% interval, so its uncertainty cannot be carried"
    return None


def _per_participant(finding: Finding) -> tuple[float, float, float] | None:
    """Return the change per participant (estimate, low, high), on the outcome's own scale."""
    if finding.scale in ("difference", "percentage points"):
        return finding.estimate, finding.ci_low, finding.ci_high
    part = finding.mean_difference
    if part is not None and part.ci_low is not None and part.ci_high is not None:
        return part.estimate, part.ci_low, part.ci_high
    return None


def _improvement(finding: Finding, outcome: Outcome) -> tuple[float, float, float]:
    """Return the improvement per participant and its interval: better positive, yes/no as
    a share of participants."""
    estimate, low, high = _per_participant(finding) or (np.nan, np.nan, np.nan)
    scale = 100.0 if finding.scale == "percentage points" else 1.0
    sign = 1.0 if outcome.better == "higher" else -1.0
    ends = sorted((sign * low / scale, sign * high / scale))
    return sign * estimate / scale, ends[0], ends[1]


def draws(centre: float, low: float, high: float, n: int = DRAWS) -> np.ndarray:
    """Return seeded draws of a two-piece normal: ``centre``, with each 95% end where given."""
    z = np.random.default_rng(SEED).standard_normal(n)
    below = max(centre - low, 0.0) / _Z
    above = max(high - centre, 0.0) / _Z
    return centre + np.where(z < 0, below, above) * z


def _reckon(
    blank: ValueForMoney,
    participants: int,
    cost: float,
    centre: float,
    low: float,
    high: float,
    value: float | None,
) -> ValueForMoney:
    unbounded = low <= 0.0
    fields: dict[str, object] = {
        "participants": participants,
        "total_cost": cost * participants,
        "cost_per_participant": cost,
        "improvement": centre,
        "improvement_low": low,
        "improvement_high": high,
        "unbounded": unbounded,
        "value_per_unit": value,
    }
    if not unbounded:
        fields |= {
            "cost_per_unit": cost / centre,
            "cost_per_unit_low": cost / high,
            "cost_per_unit_high": cost / low,
        }
    if high > 0:
        fields["cost_per_unit_best"] = cost / high
    drawn = draws(centre, low, high)
    if value is not None:
        fields |= {
            "net_benefit": (value * centre - cost) * participants,
            "net_benefit_low": (value * low - cost) * participants,
            "net_benefit_high": (value * high - cost) * participants,
            "probability_worth_it": float(np.mean(value * drawn > cost)),
        }
    reach = max(CURVE_REACH * cost / high if high > 0 else 0.0, 1.5 * (value or 0.0))
    if reach > 0:
        values = np.linspace(0.0, reach, CURVE_POINTS)
        fields["acceptability"] = tuple(
            CurvePoint(value=float(v), probability=float(np.mean(v * drawn > cost))) for v in values
        )
    return blank.model_copy(update=fields)
