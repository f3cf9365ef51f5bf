"""The report's value-for-money section: what the pilot cost beside what it changed, in words.

Every sum comes from :mod:`evalkit.estimate.value` (results.json's
``value_for_money``); this module only says them, with the same uncertainty
as the findings, and never as a verdict: the section informs the team's
decision, it does not make it.
"""

from __future__ import annotations

from evalkit.analysis import Analysis
from evalkit.card import Outcome
from evalkit.charts import Figure, figure
from evalkit.charts.value import acceptability_chart
from evalkit.estimate.value_model import ValueForMoney, chance_words, money
from evalkit.estimate.wording import format_numbers
from evalkit.markup import plain

HEADING = "## Value for money"


def unit_words(outcome: Outcome) -> str:
    """Return one unit of the outcome's improvement as plain text: "day fewer", "extra
    participant with “Settled housing”" (a person's words: make them inert before Markdown)."""
    if outcome.type == "binary":
        way = "fewer" if outcome.better == "lower" else "extra"
        return f"{way} participant with \u201c{outcome.name}\u201d"
    unit = outcome.unit.strip() or "unit"
    one = unit[:-1] if unit.endswith("s") and not unit.endswith("ss") else unit
    return f"{one} {'fewer' if outcome.better == 'lower' else 'more'}"


def improvement_words(item: ValueForMoney, outcome: Outcome) -> str:
    """Return the improvement per participant and its interval, each end said with its way:
    "16 days fewer for each participant (95% interval 8.1 to 24 days fewer)"."""
    centre = item.improvement or 0.0
    low, high = item.improvement_low or 0.0, item.improvement_high or 0.0
    scale = 100.0 if outcome.type == "binary" else 1.0
    texts = format_numbers(centre * scale, low * scale, high * scale)
    if outcome.type == "binary":
        better, worse = ("fewer", "more") if outcome.better == "lower" else ("more", "fewer")
        unit, per = "", f" in every 100 participants with \u201c{plain(outcome.name)}\u201d"
    else:
        better, worse = ("fewer", "more") if outcome.better == "lower" else ("more", "fewer")
        unit, per = f" {plain(outcome.unit or 'units')}", " for each participant"

    def said(value: float, text: str) -> str:
        return "no change" if value == 0 else f"{text}{unit} {better if value > 0 else worse}"

    if (low > 0) == (high > 0) and low != 0:  # both ends one way: say the way once
        ends = f"{texts[1]} to {texts[2]}{unit} {better if low > 0 else worse}"
    else:
        ends = f"{said(low, texts[1])} to {said(high, texts[2])}"
    return f"{said(centre, texts[0])}{per} (95% interval {ends})"


def value_markdown(analysis: Analysis) -> str:
    """Return the section, or "" when the card gives no costs."""
    costs = analysis.card.costs
    if costs is None or not analysis.value:
        return ""
    by_id = {o.measure_id: o for o in analysis.card.outcomes}
    currency = costs.currency
    paid = [f"the pilot's own costs of {money(costs.fixed, currency)} this cycle"]
    if costs.per_participant is not None:
        paid.append(f"{money(costs.per_participant, currency)} for each participant")
    if costs.column is not None:
        paid.append("each participant's own extra cost in the data")
    parts = [
        HEADING,
        "What the pilot cost this cycle beside what it changed, over usual service, with the "
        "same uncertainty as the findings. The costs are as the card gives them ("
        + " and ".join(paid)
        + "); the ranges come from each finding's 95% interval. This informs the team's "
        "decision; it does not make it.",
    ]
    counted = next((v for v in analysis.value if v.participants is not None), None)
    if counted is not None and counted.total_cost is not None:
        parts.append(
            f"The pilot served {counted.participants:,} participants after the change, costing "
            f"{money(counted.total_cost, currency)} in all, "
            f"{money(counted.cost_per_participant or 0.0, currency)} for each."
        )
    for item in analysis.value:
        outcome = by_id[item.outcome]
        parts.append(f"**{plain(item.label)}.** " + _outcome_sentences(item, outcome))
    return "\n\n".join(parts)


def _outcome_sentences(item: ValueForMoney, outcome: Outcome) -> str:
    currency, unit = item.currency, plain(unit_words(outcome))
    if item.not_computed is not None:
        return f"No value for money is worked out: {plain(item.not_computed)}."
    change = improvement_words(item, outcome)
    said = [change[:1].upper() + change[1:] + "."]
    if item.cost_per_unit is not None:
        said.append(
            f"That is about {money(item.cost_per_unit, currency)} for each {unit} "
            f"({money(item.cost_per_unit_low or 0.0, currency)} to "
            f"{money(item.cost_per_unit_high or 0.0, currency)})."
        )
    else:
        reach = "no change" if (item.improvement_high or 0.0) > 0 else "only no change or worse"
        said.append(
            f"No cost for each {unit} can be given: the interval reaches {reach}, so the cost "
            "of each could be unbounded."
        )
        if item.cost_per_unit_best is not None:
            said.append(
                f"At the interval's better end it would be "
                f"{money(item.cost_per_unit_best, currency)}."
            )
    if item.value_per_unit is not None and item.net_benefit is not None:
        chance = item.probability_worth_it or 0.0
        said.append(
            f"With each {unit} valued at {money(item.value_per_unit, currency)} (the card's "
            f"value), the net benefit this cycle, counting only this outcome's benefit against "
            f"the whole cost, is {money(item.net_benefit, currency)} "
            f"({money(item.net_benefit_low or 0.0, currency)} to "
            f"{money(item.net_benefit_high or 0.0, currency)}), and the chance that the pilot "
            f"is worth its cost at that value is {chance_words(chance)}."
        )
    return " ".join(said)


def value_figures(analysis: Analysis) -> list[Figure]:
    """Return the acceptability chart of the costed outcomes with a curve, or nothing."""
    drawn = [v for v in analysis.value if v.acceptability]
    if not drawn:
        return []
    by_id = {o.measure_id: o for o in analysis.card.outcomes}
    return [
        figure(acceptability_chart(drawn, {v.outcome: unit_words(by_id[v.outcome]) for v in drawn}))
    ]
