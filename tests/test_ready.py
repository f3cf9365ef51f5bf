"""The "Ready to grow?" check: each item from what evalkit knows, with its reason.

The shipped examples are analysed (not rendered); the rendered section is read in
tests/test_report_story.py.
"""

from __future__ import annotations

import dataclasses

import pytest

import evalkit as ek
from evalkit.report.ready import Check, ready_checks
from tests.conftest import DID_CARD, REPO, PilotFactory


def checks_of(name: str) -> dict[str, Check]:
    analysis = ek.analyse_pilot(REPO / "pilots" / name)
    entry, entries = analysis.learning()
    return {c.question: c for c in ready_checks(analysis, entry, entries)}


@pytest.fixture(scope="module")
def northbridge() -> dict[str, Check]:
    return checks_of("northbridge-ta")


def test_an_interval_reaching_harm_is_not_met_and_names_the_outcome(
    northbridge: dict[str, Check],
) -> None:
    harm = northbridge["Does every outcome's interval rule out harm?"]
    # settled within six months: 95% interval from 7.1 points fewer to 8.9 more
    assert harm.status == "not met" and harm.reason.endswith("Settled within six months")


def test_last_cycles_changes_mean_delivery_was_not_stable(northbridge: dict[str, Check]) -> None:
    stable = northbridge["Was delivery stable this cycle?"]
    assert stable.status == "not met" and "cycle 1 changed the way the pilot works" in stable.reason
    same_way = northbridge["Do the findings point the same way as last cycle's?"]
    assert same_way.status == "met" and "cycle 1" in same_way.reason


def test_cost_is_weighed_by_the_net_benefits_interval(northbridge: dict[str, Check]) -> None:
    worth = northbridge["Is it worth what it costs?"]
    # £86,431 for the cycle, but its 95% interval runs from -£90,352
    assert worth.status == "not met"
    assert worth.reason == (
        "the net benefit's interval reaches below zero for Days in temporary accommodation"
    )


def test_what_the_card_does_not_say_is_unknown_not_a_failure(northbridge: dict[str, Check]) -> None:
    assert northbridge["Does it reach the people it is for?"].status == "unknown"
    assert northbridge["Is the pilot big enough to see the change it hopes for?"].status == (
        "unknown"
    )


def test_a_before_and_after_pilot_is_not_met_on_evidence() -> None:
    evidence = checks_of("westmere-social-work")[
        "Is the evidence strong enough to put the change down to the pilot?"
    ]
    assert evidence.status == "not met" and evidence.reason.startswith("evidence level 2 of 5")


def test_a_clear_improvement_with_no_questions_meets_harm_and_data(
    make_pilot: PilotFactory,
) -> None:
    analysis = ek.analyse_pilot(make_pilot(card=DID_CARD))
    entry, entries = analysis.learning()
    found = {c.question: c for c in ready_checks(analysis, entry, entries)}
    assert found["Does every outcome's interval rule out harm?"].status == "met"
    assert found["Is it worth what it costs?"].reason == "the card gives no costs"
    worse = dataclasses.replace(
        analysis,
        findings=tuple(f.model_copy(update={"ci_high": 3.0}) for f in analysis.findings),
    )
    found = {c.question: c for c in ready_checks(worse, entry, entries)}
    assert found["Does every outcome's interval rule out harm?"].status == "not met"
