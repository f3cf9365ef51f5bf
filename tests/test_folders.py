"""The pilot folder's layout: which folders are pilots, and a pilot's newest report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit import compare, runner
from evalkit.card import load_pilot
from evalkit.card.folders import find_pilots, latest_report
from evalkit.errors import ConfigError
from tests.conftest import PilotFactory


def test_find_pilots_lists_only_folders_with_a_card_sorted(tmp_path: Path) -> None:
    for name in ("zeta", "alpha", "Mid"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pilot.yaml").write_text("name: x\n", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.md").write_text("not a pilot", encoding="utf-8")
    (tmp_path / "dir-card" / "pilot.yaml").mkdir(parents=True)
    (tmp_path / "pilot.yaml").write_text("name: x\n", encoding="utf-8")
    (tmp_path / "deeper" / "inner").mkdir(parents=True)
    (tmp_path / "deeper" / "inner" / "pilot.yaml").write_text("name: x\n", encoding="utf-8")

    assert find_pilots(tmp_path) == [tmp_path / "Mid", tmp_path / "alpha", tmp_path / "zeta"]
    assert find_pilots(str(tmp_path)) == find_pilots(tmp_path)


@pytest.mark.parametrize("finder", [find_pilots, compare.load_results], ids=["runner", "compare"])
def test_a_missing_pilots_folder_is_explained_the_same_way(
    finder: Callable[[Path], object], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="no pilots folder") as caught:
        finder(tmp_path / "pilots")
    assert caught.value.path == tmp_path / "pilots"


def test_the_comparison_lists_the_pilots_a_run_finds(make_pilot: PilotFactory) -> None:
    pilots = [make_pilot(folder=f"pilots/{name}") for name in ("b", "a")]
    (pilots[0].parent / "notes").mkdir()

    listed = compare.load_results(pilots[0].parent)

    assert sorted(p.folder for p in listed) == find_pilots(pilots[0].parent) == sorted(pilots)
    assert runner.find_pilots is find_pilots


def test_latest_report_is_the_highest_cycle_with_results(make_pilot: PilotFactory) -> None:
    card = load_pilot(make_pilot())
    assert latest_report(card) is None
    for name in ("cycle-1", "cycle-2", "cycle-10", "cycle-11.failed", "cycle-12"):
        (card.reports_dir / name).mkdir(parents=True)
    for name in ("cycle-1", "cycle-2", "cycle-10", "cycle-11.failed"):
        (card.reports_dir / name / "results.json").write_text("{}", encoding="utf-8")

    assert latest_report(card) == card.reports_dir / "cycle-10"
    assert runner.latest_report is latest_report


def test_a_failed_runs_folder_is_never_the_latest_report(make_pilot: PilotFactory) -> None:
    card = load_pilot(make_pilot())
    (card.reports_dir / "cycle-3.failed").mkdir(parents=True)
    (card.reports_dir / "cycle-3.failed" / "results.json").write_text("{}", encoding="utf-8")

    assert latest_report(card) is None
    (status,) = compare.load_results(card.folder.parent)
    assert status.status == "missing"
