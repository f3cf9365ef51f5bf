"""Integrity signals on a whole pilot: planted gaming is noticed; clean data raise no questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.analysis import analyse_pilot
from evalkit.card import load_pilot
from evalkit.contract import validate_data
from evalkit.quality import assess_quality
from evalkit.quality.attrition import Attrition

from .conftest import REPO, PilotFactory

CARD = """\
name: Planted pilot
place: Testford
design: did
data:
  path: {data_path}
  unit: case_id
  group: {{column: arm, pilot: pilot, comparison: comparison}}
  period: {{column: phase, post: after, pre: before}}
  time: {{column: month, start: 2025-04}}
outcomes:
  - column: days
    label: Days to resolution
    unit: days
    better: lower
    min: 0
    target: {{value: 90, note: local standard}}
"""

MONTHS = [str(p) for p in pd.period_range("2024-04", "2026-03", freq="M")]
PLANTS = ("bunching", "dropout", "recording")


def make_cases(seed: int, plants: set[str]) -> pd.DataFrame:
    """Return cases with nothing wrong, plus each planted pattern named in ``plants``."""
    rng = np.random.default_rng(seed)
    rows = 6000
    month = rng.choice(MONTHS, size=rows)
    arm = rng.choice(["pilot", "comparison"], size=rows)
    after = month >= "2025-04"
    days = np.round(rng.gamma(6.0, 20.0, size=rows) - 8 * ((arm == "pilot") & after))
    days = np.clip(days, 1, None)
    frame = pd.DataFrame(
        {
            "case_id": [f"T{i:05d}" for i in range(rows)],
            "arm": arm,
            "phase": np.where(after, "after", "before"),
            "month": month,
            "days": days,
        }
    )
    missing = rng.random(rows) < 0.03
    if "bunching" in plants:
        # cases closed just inside the 90-day target: a share of those just over it are moved
        target_side = (frame["arm"] == "pilot") & after & frame["days"].between(91, 110)
        moved = target_side & (rng.random(rows) < 0.5)
        frame.loc[moved, "days"] = rng.integers(80, 91, size=int(moved.sum()))
    if "dropout" in plants:
        # pilot cases that went badly stop being followed up
        missing |= ((frame["arm"] == "pilot") & after).to_numpy() & (rng.random(rows) < 0.25)
    frame["days"] = frame["days"].astype("Int64").astype(str).where(~missing, "")
    if "recording" in plants:
        # from October 2025 a new system records only some referrals
        dropped = (frame["month"] >= "2025-10") & (rng.random(rows) < 0.5)
        frame = frame[~dropped]
    return frame


def _signals(make_pilot: PilotFactory, seed: int, plants: set[str]) -> dict[str, list[str]]:
    pilot = make_pilot(CARD, data=make_cases(seed, plants).to_csv(index=False))
    # the card's design (did) differences away a gap in starting levels
    quality = assess_quality(validate_data(load_pilot(pilot)), differences_baseline=True)
    found: dict[str, list[str]] = {}
    for signal in quality.signals():
        if signal.level != "info":
            found.setdefault(signal.kind, []).append(signal.message)
    if isinstance(quality.attrition, Attrition) and quality.attrition.rating.level == "high":
        found.setdefault("high-attrition", []).append(quality.attrition.message)
    return found


def test_clean_data_raise_no_questions(make_pilot: PilotFactory) -> None:
    assert _signals(make_pilot, 1, set()) == {}


@pytest.mark.parametrize(
    ("plant", "kinds"),
    [
        ("bunching", {"bunching"}),
        ("dropout", {"attrition", "high-attrition"}),
        ("recording", {"recording-break"}),
    ],
)
def test_each_planted_pattern_is_noticed(
    make_pilot: PilotFactory, plant: str, kinds: set[str]
) -> None:
    found = _signals(make_pilot, 1, {plant})
    assert set(found) == kinds, found


def test_the_recording_break_names_the_month_it_happened(make_pilot: PilotFactory) -> None:
    found = _signals(make_pilot, 2, {"recording"})
    assert any("2025-10" in message for message in found["recording-break"])


def test_a_baseline_gap_is_a_question_unless_the_design_differences_it_away(
    make_pilot: PilotFactory,
) -> None:
    frame = make_cases(1, set())
    pilot_before = (frame["arm"] == "pilot") & (frame["phase"] == "before")
    later = pd.to_numeric(frame["days"], errors="coerce") + 40  # the pilot starts 40 days behind
    shifted = later.map(lambda v: "" if pd.isna(v) else str(int(v)))
    frame["days"] = frame["days"].where(~pilot_before, shifted)
    validation = validate_data(load_pilot(make_pilot(CARD, data=frame.to_csv(index=False))))

    def levels(differences_baseline: bool) -> set[str]:
        quality = assess_quality(validation, differences_baseline=differences_baseline)
        assert quality.differences_baseline is differences_baseline
        return {s.level for s in quality.signals() if s.kind == "baseline-equivalence"}

    assert levels(False) and levels(False) <= {"question", "concern"}
    assert levels(True) == {"info"}


def test_high_attrition_lowers_the_evidence_level(make_pilot: PilotFactory) -> None:
    clean = analyse_pilot(
        make_pilot(CARD, data=make_cases(3, set()).to_csv(index=False), folder="clean")
    )
    dropped = analyse_pilot(
        make_pilot(CARD, data=make_cases(3, {"dropout"}).to_csv(index=False), folder="dropout")
    )
    assert clean.evidence.level == 3
    assert dropped.evidence.level == 2
    assert any("attrition is high" in reason for reason in dropped.evidence.why)


@pytest.mark.slow
def test_false_alarm_and_detection_rates_over_seeds(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    seeds = range(100, 130)
    alarms = {kind: 0 for kind in ("bunching", "attrition", "recording-break")}
    for seed in seeds:
        for kind in _signals(make_pilot, seed, set()):
            alarms[kind] = alarms.get(kind, 0) + 1
    rates = {kind: count / len(seeds) for kind, count in alarms.items()}
    print("false-alarm rates over", len(seeds), "clean pilots:", rates)
    assert all(rate <= 0.10 for rate in rates.values()), rates
    detected = {plant: 0 for plant in PLANTS}
    expected = {"bunching": "bunching", "dropout": "attrition", "recording": "recording-break"}
    for seed in range(200, 220):
        for plant in PLANTS:
            detected[plant] += expected[plant] in _signals(make_pilot, seed, {plant})
    print("detection rates over 20 planted pilots:", detected)
    assert all(count >= 18 for count in detected.values()), detected


def test_successive_groups_have_no_one_to_lose_to_follow_up() -> None:
    """Westmere's cases each close once: a month's cases are not the earlier months' cases,
    so 'seen before, no outcome after' would be a false alarm of 100%."""
    card = load_pilot(REPO / "pilots" / "westmere-social-work")
    quality = assess_quality(validate_data(card))
    assert quality.attrition is None
    assert any("no unit appears both before and after" in s for s in quality.skipped)
