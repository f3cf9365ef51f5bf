"""Every design, with every outcome type, runs through the real report template to a report.

The eleven pilots of tests/designs.py (randomised once, with a baseline and by
ward; two-by-two, monthly and staggered difference-in-differences; interrupted
time series with and without a comparison; before/after paired and not; one
district against a synthetic comparison of 23) are
run once, two at a time as ``evalkit run --all --jobs 2`` runs them, and each
report is then read: its results, its page and the planted effects.
"""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.results import Results, load_results
from evalkit.runner import RunOutcome, run_pilots
from tests.designs import DATA_PATH, DESIGNS, MISSED_RATIO, WELLBEING_EFFECT

#: One seeded draw for every design; coverage over many draws is tested in
#: tests/test_honest_intervals.py, so a single draw only has to find the planted effects.
SEED = 2026

OUTCOME_TYPES = {"wellbeing": "continuous", "housed": "binary", "missed": "count"}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunOutcome]:
    base = tmp_path_factory.mktemp("designs")
    folders = []
    for name, build in DESIGNS.items():
        card, frame = build(np.random.default_rng(SEED))
        folder = base / name
        (folder / "data").mkdir(parents=True)
        (folder / "pilot.yaml").write_text(card, encoding="utf-8")
        frame.to_csv(folder / DATA_PATH, index=False)
        folders.append(folder)
    outcomes = run_pilots(folders, jobs=2)
    return {o.pilot.name: o for o in outcomes}


def _results(outcome: RunOutcome) -> Results:
    assert outcome.status == "ok", outcome.message
    assert outcome.report_dir is not None
    return load_results(outcome.report_dir / "results.json")


@pytest.mark.parametrize("design", DESIGNS)
def test_every_design_reaches_a_report_with_all_three_outcome_types(
    reports: dict[str, RunOutcome], design: str
) -> None:
    outcome = reports[design]
    results = _results(outcome)
    assert [f.outcome for f in results.findings] == list(OUTCOME_TYPES)
    assert outcome.report_dir is not None
    html = (outcome.report_dir / "report.html").read_text(encoding="utf-8")
    for label in ("Wellbeing score", "Settled housing", "Missed appointments"):
        assert label in html
    assert "Traceback" not in html
    by_outcome = {f.outcome: f for f in results.findings}
    assert by_outcome["housed"].scale == "percentage points"
    assert all(np.isfinite([f.ci_low, f.ci_high]).all() for f in results.findings)


@pytest.mark.parametrize("design", DESIGNS)
def test_every_design_reports_value_for_money_for_every_outcome_type(
    reports: dict[str, RunOutcome], design: str
) -> None:
    outcome = reports[design]
    results = _results(outcome)
    items = {v.outcome: v for v in results.value_for_money}
    assert list(items) == list(OUTCOME_TYPES)
    for item in items.values():
        if item.not_computed is not None:
            assert item.total_cost is None and item.not_computed  # a reason, no sums
            continue
        assert item.participants is not None and item.participants >= 10
        assert item.cost_per_participant == pytest.approx(5000 / item.participants + 200)
        assert item.unbounded == ((item.improvement_low or 0.0) <= 0)
        assert (item.cost_per_unit is None) == item.unbounded
        assert item.acceptability and item.probability_worth_it is not None
    wellbeing = items["wellbeing"]
    if wellbeing.not_computed is None:  # the planted +4 points is an improvement
        assert (wellbeing.improvement_high or 0.0) > 0
    assert outcome.report_dir is not None
    html = (outcome.report_dir / "report.html").read_text(encoding="utf-8")
    assert "Value for money" in html
    computed = any(v.not_computed is None for v in items.values())
    assert ("Acceptability curves." in html) == computed
    assert ("No value for money is worked out" in html) == (
        not all(v.not_computed is None for v in items.values())
    )


@pytest.mark.parametrize("design", DESIGNS)
def test_each_design_finds_the_planted_change_in_wellbeing(
    reports: dict[str, RunOutcome], design: str
) -> None:
    wellbeing = _results(reports[design]).findings[0]
    assert wellbeing.ci_low < WELLBEING_EFFECT < wellbeing.ci_high
    assert wellbeing.estimate > 0


#: Designs whose count headline is a per-record rate ratio (a series' headline is its level
#: change, a panel's and a synthetic comparison's the difference in mean counts).
RATIO_DESIGNS = [d for d in DESIGNS if "did" not in d and "its" not in d and d != "synthetic"] + [
    "did-2x2"
]


@pytest.mark.parametrize("design", RATIO_DESIGNS)
def test_counts_are_reported_as_rate_ratios_around_the_planted_one(
    reports: dict[str, RunOutcome], design: str
) -> None:
    missed = _results(reports[design]).findings[2]
    assert missed.scale == "rate ratio"
    if design != "did-2x2":  # its planted ratio applies to the pilot after, which 2x2 nets out
        assert missed.ci_low < MISSED_RATIO < missed.ci_high


def test_a_pilot_named_by_its_wards_compares_every_other_ward(
    reports: dict[str, RunOutcome],
) -> None:
    outcome = reports["cluster-rct"]
    results = _results(outcome)
    assert "wild cluster bootstrap by ward" in results.findings[0].method
    assert results.findings[0].n > 300  # every ward's people, pilot and comparison
    assert outcome.report_dir is not None
    html = (outcome.report_dir / "report.html").read_text(encoding="utf-8")
    # the report says who is compared and how few wards the findings rest on
    assert "The pilot covers 6 of the 12 wards" in html
    assert "This result rests on only 12 wards, 6 in the pilot" in html
    assert "the estimate rests on only 12 wards" in html  # the evidence reason
