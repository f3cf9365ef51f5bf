"""The evidence rating: Maryland SMS levels from a rubric held as data, lowered by failed checks."""

from __future__ import annotations

import pytest

from evalkit.estimate.evidence import DOWNGRADES, LEVELS, rate_evidence
from evalkit.estimate.registry import get_design


@pytest.mark.parametrize(("design", "level"), [("pre_post", 1), ("its", 2), ("did", 3), ("rct", 5)])
def test_each_design_starts_at_its_level(design: str, level: int) -> None:
    rating = rate_evidence(design, {})
    assert rating.level == level and rating.scale == "maryland-sms"
    entry = get_design(design)
    assert entry is not None and rating.why[0] == entry.rubric.reason


@pytest.mark.parametrize(
    ("facts", "lowered_by"),
    [
        ({"pretrend_p": 0.01}, "moving apart"),
        ({"pre_periods": 5}, "only 5 periods"),
        ({"attrition_high": 1.0}, "attrition is high"),
        ({"imbalance": 0.4}, "differed at baseline"),
        ({"rejected_share": 0.2}, "failed their checks"),
        ({"smallest_group": 12}, "only 12 records"),
    ],
)
def test_failed_checks_lower_the_level_with_a_reason(
    facts: dict[str, float], lowered_by: str
) -> None:
    rating = rate_evidence("did", facts)
    assert rating.level == 2
    assert any(lowered_by in reason and "(level lowered)" in reason for reason in rating.why)


def test_checks_that_pass_leave_the_level_and_say_so() -> None:
    rating = rate_evidence("did", {"pretrend_p": 0.41, "pre_periods": 12, "imbalance": 0.1})
    assert rating.level == 3
    assert "no clear sign the groups were moving apart before the change (p = 0.41)" in rating.why


def test_the_level_never_falls_below_one_and_the_rubric_is_complete() -> None:
    everything = {
        "pretrend_p": 0.0,
        "pre_periods": 2,
        "attrition_high": 1,
        "imbalance": 1.0,
        "rejected_share": 0.5,
        "smallest_group": 3,
    }
    assert rate_evidence("pre_post", everything).level == 1
    assert rate_evidence("rct", everything).level == 1
    assert set(LEVELS) == {1, 2, 3, 4, 5}
    assert len({d.name for d in DOWNGRADES}) == len(DOWNGRADES)
