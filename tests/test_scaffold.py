"""Scaffolding a pilot (`evalkit new`): a commented card, data templates, an empty log."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from evalkit.card import load_pilot
from evalkit.cli import cli
from evalkit.contract import rules_for, validate_data
from evalkit.errors import ConfigError
from evalkit.estimate import registry
from evalkit.estimate.registry import design_names, get_design
from evalkit.scaffold import create_pilot, is_example_data

from .conftest import evalkit_cmd


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def header_of(pilot: Path) -> list[str]:
    return (pilot / "data" / "cases.csv").read_text(encoding="utf-8").splitlines()[0].split(",")


def test_new_creates_a_commented_card_data_templates_and_an_empty_log(tmp_path: Path) -> None:
    pilot = tmp_path / "named-caseworkers"

    result = CliRunner().invoke(cli, ["new", str(pilot)])

    assert result.exit_code == 0, result.output
    card_text = (pilot / "pilot.yaml").read_text(encoding="utf-8")
    whole_line_comments = [line for line in card_text.splitlines() if line.startswith("#")]
    trailing_comments = [line for line in card_text.splitlines() if " # " in line.lstrip()]
    assert len(whole_line_comments) >= 2
    assert len(trailing_comments) >= 5
    # the repository ships README.md, not DESIGN.md: the card cites what a team can open
    assert "DESIGN.md" not in card_text
    assert 'README.md, "The pilot card"' in card_text
    data_lines = (pilot / "data" / "cases.csv").read_text(encoding="utf-8").splitlines()
    assert data_lines == ["case_id,arm,phase,ward,days_in_ta", "C0001,pilot,before,North,42"]
    sheet = pd.read_excel(pilot / "data" / "cases.xlsx", dtype=object, engine="openpyxl")
    assert list(sheet.columns) == ["case_id", "arm", "phase", "ward", "days_in_ta"]
    assert sheet.values.tolist() == [["C0001", "pilot", "before", "North", 42]]
    log = pilot / "learning_log.jsonl"
    assert log.is_file()
    assert log.stat().st_size == 0
    assert sorted(str(p.relative_to(pilot)) for p in pilot.rglob("*")) == [
        "data",
        "data/cases.csv",
        "data/cases.xlsx",
        "learning_log.jsonl",
        "pilot.yaml",
    ]
    assert "evalkit validate" in result.output
    assert "replace the example row" in result.output


@pytest.mark.parametrize("design", ["did", "pre_post"])
def test_scaffolded_card_loads_and_matches_its_data_header(design: str, tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"

    result = CliRunner().invoke(
        cli,
        [
            "new",
            str(pilot),
            "--design",
            design,
            "--name",
            "Named caseworkers",
            "--place",
            "Eastmoor",
        ],
    )

    assert result.exit_code == 0, result.output
    card = load_pilot(pilot)
    assert card.design == design
    assert card.name == "Named caseworkers"
    assert card.place == "Eastmoor"
    assert card.id == "pilot"
    assert card.cycle == 1
    assert card.data_path == pilot / "data" / "cases.csv"
    assert (card.data.group is not None) == (design == "did")
    # every column the card's checks need is in the header, and nothing else
    assert sorted(header_of(pilot)) == sorted(rule.column for rule in rules_for(card))


def test_default_name_comes_from_the_folder(tmp_path: Path) -> None:
    create_pilot(tmp_path / "named-caseworkers_pilot")

    card = load_pilot(tmp_path / "named-caseworkers_pilot")

    assert card.name == "Named caseworkers pilot"
    assert card.place


@pytest.mark.parametrize(
    ("name", "place"),
    [("Housing: named caseworkers", "Northbridge"), ("#2 named caseworkers", "Eastmoor: North")],
)
def test_names_with_yaml_punctuation_are_kept_as_written(
    name: str, place: str, tmp_path: Path
) -> None:
    create_pilot(tmp_path / "pilot", name=name, place=place)

    card = load_pilot(tmp_path / "pilot")

    assert card.name == name
    assert card.place == place


def test_filling_the_scaffold_with_rows_gives_a_valid_pilot(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    create_pilot(pilot, design="did")
    header = header_of(pilot)
    assert header == ["case_id", "arm", "phase", "ward", "days_in_ta"]
    rows = [
        f"C{i:03d},{arm},{phase},W{i % 3},{90 + i % 11}"
        for i, (arm, phase) in enumerate(
            [(a, p) for a in ("pilot", "comparison") for p in ("before", "after")] * 6
        )
    ]
    # the team replaces the example row with its own records
    (pilot / "data" / "cases.csv").write_text(
        "\n".join([",".join(header), *rows]) + "\n", encoding="utf-8"
    )

    result = CliRunner().invoke(cli, ["validate", str(pilot)])

    assert result.exception is None, result.exception
    assert "24 rows read; every row passed its checks." in result.stdout


def test_new_again_exits_1_and_overwrites_nothing(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    assert evalkit_cmd("new", pilot).returncode == 0
    card = pilot / "pilot.yaml"
    card.write_text(card.read_text(encoding="utf-8") + "# our own note\n", encoding="utf-8")
    (pilot / "data" / "cases.csv").write_text("case_id,arm\nC1,pilot\n", encoding="utf-8")
    (pilot / "learning_log.jsonl").write_text('{"entry": 1}\n', encoding="utf-8")
    before = snapshot(pilot)

    result = evalkit_cmd("new", pilot, "--design", "pre_post")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(card) in result.stderr
    assert "already exists" in result.stderr
    assert snapshot(pilot) == before


def test_new_keeps_data_already_in_the_folder(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    (pilot / "data").mkdir(parents=True)
    (pilot / "data" / "cases.csv").write_text("case_id,arm\nC1,pilot\n", encoding="utf-8")
    (pilot / "learning_log.jsonl").write_text('{"entry": 1}\n', encoding="utf-8")
    before = snapshot(pilot)

    create_pilot(pilot)

    after = snapshot(pilot)
    assert after.pop("pilot.yaml")
    assert after.pop("data/cases.xlsx")  # the spreadsheet template was not there: written
    assert after == before


@pytest.mark.parametrize("design", design_names())
def test_every_registered_design_scaffolds_a_card_that_loads(tmp_path: Path, design: str) -> None:
    card_path = create_pilot(tmp_path / design, design=design)

    card = load_pilot(card_path.parent)
    assert card.design == design
    header = (tmp_path / design / "data" / "cases.csv").read_text(encoding="utf-8")
    for role in (card.data.group, card.data.period, card.data.time):
        if role is not None:
            assert role.column in header.split(",")


def test_create_pilot_refuses_a_design_it_cannot_scaffold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    did = get_design("did")
    assert did is not None
    # registered, but with no scaffold: refused, and the hint names those that have one
    monkeypatch.setitem(registry._REGISTRY, "plain", replace(did, name="plain", scaffold=None))
    for design in ("matching", "plain"):
        with pytest.raises(ConfigError, match=f"cannot scaffold design '{design}'") as raised:
            create_pilot(tmp_path / "pilot", design=design)
        assert raised.value.hint == "use one of: pre_post, did, its, rct, synthetic"
    assert not (tmp_path / "pilot").exists()


@pytest.mark.parametrize("design", ["pre_post", "did", "its", "rct", "synthetic"])
@pytest.mark.parametrize("template", ["cases.csv", "cases.xlsx"])
def test_new_for_every_design_validates_as_it_stands(
    tmp_path: Path, design: str, template: str
) -> None:
    pilot = tmp_path / design
    assert CliRunner().invoke(cli, ["new", str(pilot), "--design", design]).exit_code == 0
    if template == "cases.xlsx":
        card = pilot / "pilot.yaml"
        text = card.read_text(encoding="utf-8")
        card.write_text(text.replace("path: data/cases.csv", "path: data/cases.xlsx", 1))

    result = CliRunner().invoke(cli, ["validate", str(pilot)])

    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "1 row read; every row passed its checks." in result.stdout
    assert "only the example row" in result.stdout


def test_a_team_row_beside_the_example_is_the_teams_data(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    create_pilot(pilot, design="did")
    card = load_pilot(pilot)
    frame = validate_data(card, roles=False).valid
    assert is_example_data(card, frame)

    with (pilot / "data" / "cases.csv").open("a", encoding="utf-8") as data:
        data.write("C0002,comparison,after,South,17\n")
    frame = validate_data(card, roles=False).valid

    assert not is_example_data(card, frame)
    changed = frame.iloc[:1].assign(days_in_ta=43.0)
    assert not is_example_data(card, changed)


def test_validate_on_a_header_without_rows_says_the_data_has_no_rows(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    assert evalkit_cmd("new", pilot).returncode == 0
    (pilot / "data" / "cases.csv").write_text("case_id,arm,phase,ward,days_in_ta\n")

    result = evalkit_cmd("validate", pilot)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(pilot / "data" / "cases.csv") in result.stderr
    assert "header but no rows" in result.stderr


def test_run_on_the_template_as_written_says_to_replace_the_example_row(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    assert evalkit_cmd("new", pilot, "--design", "its").returncode == 0

    result = evalkit_cmd("run", pilot, "--runs-dir", tmp_path / "runs")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "holds only the example row" in result.stdout + result.stderr
    assert not (pilot / "reports" / "cycle-1").exists()


def test_the_example_row_left_beside_the_teams_rows_is_warned_about(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    create_pilot(pilot, design="did")
    groups = [(a, p) for a in ("pilot", "comparison") for p in ("before", "after")] * 6
    rows = [
        f"C{i:03d},{arm},{phase},W{i % 3},{90 + i % 11}" for i, (arm, phase) in enumerate(groups)
    ]
    with (pilot / "data" / "cases.csv").open("a", encoding="utf-8") as data:
        data.write("\n".join(rows) + "\n")

    result = evalkit_cmd("validate", pilot)

    assert result.returncode == 0, result.stderr
    assert "the example row `evalkit new` wrote is still in the data" in result.stderr


def test_run_with_the_example_row_and_too_many_failing_rows_says_they_fail(
    tmp_path: Path,
) -> None:
    pilot = tmp_path / "pilot"
    create_pilot(pilot, design="did")
    with (pilot / "data" / "cases.csv").open("a", encoding="utf-8") as data:
        data.write("".join(f'C{i:03d},pilot,after,North,"2,5"\n' for i in range(20)))

    result = evalkit_cmd("run", pilot, "--runs-dir", tmp_path / "runs")

    assert result.returncode == 1
    assert "only the example row" not in result.stdout + result.stderr
    assert "20 of 21 rows (95%) failed their checks" in result.stdout + result.stderr
