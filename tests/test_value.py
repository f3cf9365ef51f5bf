"""Value for money: costs on the card, sums from the pilot's own estimate, its uncertainty kept.

The cost per unit of change, its interval and the net benefit are checked
against a hand calculation on a pilot of known effect and cost; the
acceptability curve against the closed-form normal probability (within
Monte-Carlo error); a finding whose interval reaches no change gives
"unbounded" words and no number.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import stats

import evalkit as ek
from evalkit.errors import ConfigError
from evalkit.estimate import value as value_module
from evalkit.estimate.finding import Finding
from evalkit.estimate.value import DRAWS, draws, value_for_money
from evalkit.estimate.value_model import money
from evalkit.report.value import value_figures, value_markdown
from tests.conftest import DID_CARD, DID_ROWS, PilotFactory

COSTS = """\
costs:
  currency: GBP
  fixed: 3000
  per_participant: 100
  value: {days: 35}
"""


def costed_pilot(make_pilot: PilotFactory, costs: str = COSTS, rows: str = DID_ROWS):  # type: ignore[no-untyped-def]
    return make_pilot(card=DID_CARD + costs.replace("{", "{{").replace("}", "}}"), data=rows)


def test_the_sums_match_a_hand_calculation(make_pilot: PilotFactory) -> None:
    analysis = ek.analyse_pilot(costed_pilot(make_pilot))
    finding = analysis.findings[0]
    (item,) = analysis.value
    # DID_ROWS: 15 pilot families after the change, each 12 days shorter than the comparison
    assert finding.estimate == pytest.approx(-12.0)
    n, cost = 15, 3000 / 15 + 100  # £300 a family
    assert item.participants == n
    assert item.cost_per_participant == pytest.approx(cost)
    assert item.total_cost == pytest.approx(4500.0)
    assert item.improvement == pytest.approx(12.0)
    assert (item.improvement_low, item.improvement_high) == pytest.approx(
        (-finding.ci_high, -finding.ci_low)
    )
    assert item.cost_per_unit == pytest.approx(25.0)  # £300 / 12 days
    assert item.cost_per_unit_low == pytest.approx(cost / -finding.ci_low)
    assert item.cost_per_unit_high == pytest.approx(cost / -finding.ci_high)
    assert item.net_benefit == pytest.approx((35 * 12 - 300) * 15)  # £1,800
    assert item.net_benefit_low == pytest.approx((35 * -finding.ci_high - 300) * 15)
    assert item.net_benefit_high == pytest.approx((35 * -finding.ci_low - 300) * 15)
    assert not item.unbounded


def test_the_acceptability_curve_matches_the_normal_probability(make_pilot: PilotFactory) -> None:
    (item,) = ek.analyse_pilot(costed_pilot(make_pilot)).value
    centre = item.improvement or 0.0
    sd = ((item.improvement_high or 0.0) - centre) / stats.norm.ppf(0.975)  # symmetric: OLS
    cost = item.cost_per_participant or 0.0
    assert len(item.acceptability) == value_module.CURVE_POINTS
    for point in item.acceptability[1:]:
        exact = float(stats.norm.sf((cost / point.value - centre) / sd))
        error = math.sqrt(max(exact * (1 - exact), 1e-9) / DRAWS)
        assert abs(point.probability - exact) <= 4 * error + 1e-12, point
    assert item.acceptability[0].probability == 0.0  # worth nothing: never worth its cost
    exact_at_value = float(stats.norm.sf((cost / 35 - centre) / sd))
    assert item.probability_worth_it == pytest.approx(exact_at_value, abs=0.01)


def test_draws_keep_an_asymmetric_interval_on_each_side() -> None:
    drawn = draws(2.0, 1.0, 5.0, n=200_000)
    assert np.mean(drawn < 2.0) == pytest.approx(0.5, abs=0.005)
    assert np.quantile(drawn, 0.025) == pytest.approx(1.0, abs=0.02)
    assert np.quantile(drawn, 0.975) == pytest.approx(5.0, abs=0.05)


def _null_finding(estimate: float, low: float, high: float) -> Finding:
    return Finding(
        outcome="days",
        label="Days in temporary accommodation",
        estimate=estimate,
        se=(high - low) / 3.92,
        ci_low=low,
        ci_high=high,
        p_value=0.5,
        n=60,
        method="test",
        better="lower",
        summary="",
    )


def test_an_interval_reaching_no_change_is_unbounded_in_numbers_and_words(
    make_pilot: PilotFactory,
) -> None:
    analysis = ek.analyse_pilot(costed_pilot(make_pilot))
    frame = analysis.validation.valid
    (item,) = value_for_money(analysis.card, frame, [_null_finding(-2.0, -6.0, 2.0)])
    assert item.unbounded and item.cost_per_unit is None and item.cost_per_unit_low is None
    assert item.cost_per_unit_best == pytest.approx(300 / 6.0)  # the better end: 6 days fewer
    assert item.net_benefit == pytest.approx((35 * 2 - 300) * 15)  # still defined: linear
    shown = dataclasses.replace(analysis, value=(item,))
    text = value_markdown(shown)
    assert "No cost for each day fewer can be given" in text
    assert "unbounded" in text and "£50" in text
    assert "That is about" not in text
    (harm,) = value_for_money(analysis.card, frame, [_null_finding(4.0, 1.0, 7.0)])
    assert harm.unbounded and harm.cost_per_unit_best is None
    assert harm.probability_worth_it is not None and harm.probability_worth_it < 0.01


def test_the_report_and_results_carry_the_section_and_its_chart(
    make_pilot: PilotFactory, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    analysis = ek.analyse_pilot(costed_pilot(make_pilot))
    text = value_markdown(analysis)
    assert text.startswith("## Value for money")
    assert "The pilot served 15 participants after the change, costing £4,500 in all" in text
    assert "That is about £25 for each day fewer" in text
    assert (
        "(the card's value), the net benefit this cycle, counting only this outcome's benefit "
        "against the whole cost, is £1,800"
    ) in text
    (chart,) = value_figures(analysis)
    assert "At the card's value of £35 it is" in chart.description
    analysis.write(tmp_path / "out")
    written = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    (saved,) = written["value_for_money"]
    assert saved["currency"] == "GBP" and saved["cost_per_unit"] == pytest.approx(25.0)
    assert (
        ek.load_results(tmp_path / "out" / "results.json").value_for_money[0] == analysis.value[0]
    )


def test_a_yes_no_outcome_where_lower_is_better_is_said_as_fewer(
    make_pilot: PilotFactory,
) -> None:
    from evalkit.card import Outcome
    from evalkit.report.value import improvement_words, unit_words

    outcome = Outcome(column="rereferred", label="Re-referred", type="binary", better="lower")
    item = (
        ek.analyse_pilot(costed_pilot(make_pilot))
        .value[0]
        .model_copy(update={"improvement": 0.05, "improvement_low": 0.02, "improvement_high": 0.08})
    )
    assert unit_words(outcome) == "fewer participant with \u201cRe-referred\u201d"
    assert improvement_words(item, outcome).startswith(
        "5 fewer in every 100 participants with \u201cRe-referred\u201d (95% interval 2 to 8 fewer)"
    )


def test_units_measured_again_and_again_get_a_reason_not_sums(make_pilot: PilotFactory) -> None:
    rows = DID_ROWS.replace("C0", "W0").replace("C", "W")  # case ids: W000..W059, unique
    lines = rows.splitlines()
    again = "\n".join([lines[0], *lines[1:], *lines[1:]]).replace(",1", ",1", 1)
    pilot = costed_pilot(make_pilot, rows=again + "\n")
    (item,) = ek.analyse_pilot(pilot).value
    assert item.not_computed is not None and "many rows for each case_id" in item.not_computed
    assert item.total_cost is None


def test_no_costs_no_section(make_pilot: PilotFactory) -> None:
    analysis = ek.analyse_pilot(make_pilot())
    assert analysis.value == () and value_markdown(analysis) == ""
    assert value_figures(analysis) == []


def test_too_few_participants_to_publish_says_so_and_gives_no_sums(
    make_pilot: PilotFactory,
) -> None:
    card = COSTS + "min_cell_count: 20\n"
    (item,) = ek.analyse_pilot(costed_pilot(make_pilot, card)).value
    assert item.not_computed == "the pilot served fewer than 20 after the change"
    assert item.total_cost is None and item.participants is None


def test_each_rows_own_cost_column_is_averaged(make_pilot: PilotFactory) -> None:
    lines = DID_ROWS.splitlines()
    rows = "\n".join(
        [lines[0] + ",cost"] + [f"{line},{50 + i % 3 * 10}" for i, line in enumerate(lines[1:])]
    )
    card = DID_CARD.replace(
        "    household_size:",
        "    cost: {{type: float, min: 0, required: true}}\n    household_size:",
    )
    pilot = make_pilot(
        card=card + "costs: {{currency: EUR, fixed: 0, column: cost}}\n", data=rows + "\n"
    )
    analysis = ek.analyse_pilot(pilot)
    (item,) = analysis.value
    frame = analysis.validation.valid
    served = frame[(frame["arm"] == "pilot") & (frame["phase"] == "after")]
    assert item.cost_per_participant == pytest.approx(served["cost"].mean())
    assert item.currency == "EUR" and money(1234.5, "EUR") == "€1,234"


@pytest.mark.parametrize(
    ("costs", "where", "says"),
    [
        ("costs: {{currency: pounds, fixed: 10}}", "costs.currency", "such as GBP, EUR or USD"),
        ("costs: {{currency: GBP, fixed: -5}}", "costs.fixed", "greater than or equal to 0"),
        ("costs: {{currency: GBP}}", "costs", "gives no cost"),
        ("costs: {{currency: GBP, per_participant: 5, column: ward}}", "costs.column", "twice"),
        ("costs: {{currency: GBP, column: ward}}", "costs.column", "declared under data.columns"),
        (
            "costs: {{currency: GBP, fixed: 5, value: {{nights: 3}}}}",
            "costs.value.nights",
            "not one of",
        ),
        ("costs: {{currency: GBP, fixed: 5, value: {{days: -3}}}}", "costs.value", "0 or more"),
    ],
)
def test_a_bad_costs_block_is_refused_with_its_line(
    make_pilot: PilotFactory, costs: str, where: str, says: str
) -> None:
    pilot = make_pilot(card=DID_CARD + costs + "\n")
    with pytest.raises(ConfigError) as raised:
        ek.load_pilot(pilot)
    message = str(raised.value)
    assert where in message and says in message, message
    assert "line 20," in message  # the costs line, after the card's 19


def test_money_is_written_as_people_write_it() -> None:
    assert money(25000, "GBP") == "£25,000"
    assert money(627.6, "GBP") == "£628"
    assert money(4.2, "GBP") == "£4.20"
    assert money(-1200, "USD") == "-$1,200"
    assert money(30, "CHF") == "CHF 30"
