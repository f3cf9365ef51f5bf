"""The shipped example pilots: made by a seeded script, and recovered by evalkit."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from evalkit.analysis import analyse_pilot

from .conftest import REPO


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_example_pilots", REPO / "scripts" / "make_example_pilots.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and (p.name in {"pilot.yaml", "voice.csv"} or p.parent.name == "data")
    }


def test_the_shipped_pilots_are_exactly_what_the_seeded_generator_makes(tmp_path: Path) -> None:
    _generator().main(tmp_path)
    for name in (
        "northbridge-ta",
        "eastmoor-family-hub",
        "southvale-ta",
        "westmere-social-work",
        "hollins-vale-navigators",
        "dunmore-family-hubs",
        "harrowfield-prevention",
    ):
        assert _digest(tmp_path / name) == _digest(REPO / "pilots" / name), name
        # runs append drafts to the log; the shipped history is its first line
        made = (tmp_path / name / "learning_log.jsonl").read_text().splitlines()
        shipped = (REPO / "pilots" / name / "learning_log.jsonl").read_text().splitlines()
        assert made == shipped[: len(made)], name


@pytest.mark.parametrize(
    "pilot",
    [
        "northbridge-ta",
        "eastmoor-family-hub",
        "westmere-social-work",
        "hollins-vale-navigators",
        "dunmore-family-hubs",
        "harrowfield-prevention",
    ],
)
def test_each_true_effect_lies_inside_its_interval(pilot: str) -> None:
    generator = _generator()
    truth = generator.TRUE_EFFECTS[pilot]
    ratios = generator.TRUE_RATIOS.get(pilot, {})
    analysis = analyse_pilot(REPO / "pilots" / pilot)
    card = analysis.card
    by_column = {o.measure_id: o for o in card.outcomes}
    assert len(analysis.findings) == len(truth) + len(ratios)
    for finding in analysis.findings:
        outcome = by_column[finding.outcome]
        if outcome.column in ratios:
            assert finding.scale == "rate ratio"
            expected = ratios[outcome.column]
            assert finding.ci_low <= expected <= finding.ci_high, (finding.outcome, expected)
            continue
        effect = truth[outcome.column]
        if finding.scale == "rate ratio":
            # the generator draws a mean of 1.6 before and 1.6 + effect after
            expected = (1.6 + effect) / 1.6
            difference = finding.mean_difference
            assert difference is not None, finding.outcome
            low, high = difference.ci_low, difference.ci_high
            assert low is not None and high is not None and low <= effect <= high, finding.outcome
        else:
            expected = effect * (100 if outcome.type == "binary" else 1)
        assert finding.ci_low <= expected <= finding.ci_high, (finding.outcome, expected)


@pytest.mark.parametrize("pilot", ["northbridge-ta", "eastmoor-family-hub", "westmere-social-work"])
def test_examples_are_realistically_messy(pilot: str) -> None:
    analysis = analyse_pilot(REPO / "pilots" / pilot)
    validation = analysis.validation
    assert validation.rows_read >= 2000
    assert 0 < len(validation.rejected) <= 0.01 * validation.rows_read
    assert validation.valid[[o.column for o in analysis.card.outcomes]].isna().any().any()


def test_the_examples_differ_in_design_and_local_columns() -> None:
    north = analyse_pilot(REPO / "pilots" / "northbridge-ta").card
    east = analyse_pilot(REPO / "pilots" / "eastmoor-family-hub").card
    west = analyse_pilot(REPO / "pilots" / "westmere-social-work").card
    assert {north.design, east.design, west.design} == {"did", "pre_post", "its"}
    assert set(north.data.columns).isdisjoint(east.data.columns)
    assert set(west.data.columns).isdisjoint(north.data.columns | east.data.columns)
