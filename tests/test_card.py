"""Tests for evalkit.card: loading pilot.yaml into a frozen model, and every mistake reported."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from evalkit.card import CARD_FILE, PilotCard, load_pilot
from evalkit.errors import ConfigError, Problem

from .conftest import DID_CARD, PilotFactory

CARD = DID_CARD.format(data_path="data/cases.csv")


#: A pilot's own report template, as small as the card check allows (a parameters cell).
LOCAL_TEMPLATE = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": 'pilot_dir = "."',
            "outputs": [],
            "execution_count": None,
        }
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _write_card(folder: Path, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # the full card below names its own report template: it is there for every card written
    (folder / "my_report.ipynb").write_text(json.dumps(LOCAL_TEMPLATE), encoding="utf-8")
    card_path = folder / CARD_FILE
    if isinstance(text, bytes):
        card_path.write_bytes(text)
    else:
        card_path.write_text(textwrap.dedent(text), encoding="utf-8")
    return card_path


def _load_error(folder: Path, text: str | bytes) -> ConfigError:
    card_path = _write_card(folder, text)
    with pytest.raises(ConfigError) as caught:
        load_pilot(folder)
    error = caught.value
    assert error.path == card_path
    assert str(card_path) in str(error)
    return error


def _problem(error: ConfigError, message_part: str) -> Problem:
    found = [p for p in error.problems if message_part in p.message]
    assert len(found) == 1, f"expected one problem with {message_part!r} in {error.problems}"
    return found[0]


def _line_of(text: str, start: str) -> int:
    """Return the 1-based line of the first line of ``text`` that starts with ``start``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(start):
            return number
    raise AssertionError(f"{start!r} not in the card")


# --- the example pilots and the model ----------------------------------------------------------


@pytest.mark.parametrize("name", ["northbridge-ta", "eastmoor-family-hub"])
def test_example_pilots_load_into_a_frozen_card(example_pilot: Any, name: str) -> None:
    folder = example_pilot(name)
    raw = yaml.safe_load((folder / CARD_FILE).read_text(encoding="utf-8"))

    card = load_pilot(folder)

    assert isinstance(card, PilotCard)
    assert card.id == name  # the example cards set no id: the folder name is used
    assert card.name == raw["name"]
    assert card.design == raw["design"]
    assert [o.column for o in card.outcomes] == [o["column"] for o in raw["outcomes"]]
    assert card.folder == folder
    assert card.card_path == folder / CARD_FILE
    assert card.data_path == folder / raw["data"]["path"]
    assert card.data_path.is_file()
    with pytest.raises(ValidationError):
        card.name = "something else"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        card.data.path = "elsewhere.csv"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        card.outcomes[0].better = "higher"  # type: ignore[misc]
    assert card.name == raw["name"]


def test_card_loads_from_the_card_path_as_well_as_the_folder(make_pilot: PilotFactory) -> None:
    folder = make_pilot()
    assert load_pilot(folder / CARD_FILE) == load_pilot(folder)


def test_id_defaults_to_the_folder_name_and_an_explicit_id_is_kept(
    make_pilot: PilotFactory,
) -> None:
    assert load_pilot(make_pilot(folder="riverside-warm-homes")).id == "riverside-warm-homes"
    named = make_pilot(card="id: my-own-id\n" + DID_CARD, folder="another-folder")
    assert load_pilot(named).id == "my-own-id"


def test_defaults_and_outcome_names(make_pilot: PilotFactory) -> None:
    card = load_pilot(make_pilot())
    outcome = card.outcomes[0]
    assert outcome.measure_id == "days"  # no id: the column
    assert outcome.name == "Days in temporary accommodation"
    assert card.data.max_rejected_share == pytest.approx(0.10)
    assert card.report_dir() == card.folder / "reports" / "cycle-1"
    assert card.report_dir(3) == card.folder / "reports" / "cycle-3"


# --- mistakes, each named with its key path and line --------------------------------------------


def test_misspelt_top_level_key_is_named_with_its_line_and_the_nearest_key(
    tmp_path: Path,
) -> None:
    text = CARD.replace("design:", "desing:")
    error = _load_error(tmp_path / "p", text)

    problem = _problem(error, "unknown key 'desing'")
    assert problem.where == f"line {_line_of(text, 'desing:')}, desing"
    assert problem.hint == "did you mean 'design'?"
    # the real key is then missing, and that is said too
    assert "required key 'design' is missing" in [p.message for p in error.problems]


def test_a_learning_question_naming_an_unknown_outcome_is_named_with_its_place(
    tmp_path: Path,
) -> None:
    text = CARD.replace(
        "design:",
        "learning_questions:\n  - ask: Do stays shorten?\n    outcomes: [days, stays]\ndesign:",
        1,
    )
    error = _load_error(tmp_path / "p", text)
    problem = _problem(error, "'stays' is not one of the card's outcomes")
    assert problem.where.endswith("learning_questions[0].outcomes[1]")
    assert "name an outcome's id or column" in problem.hint
    # written as plain text, a question names no outcomes and is matched by its words
    good = CARD.replace("design:", "learning_questions: [Do stays shorten?]\ndesign:", 1)
    _write_card(tmp_path / "q", good)
    (question,) = load_pilot(tmp_path / "q").learning_questions
    assert (question.ask, question.outcomes) == ("Do stays shorten?", ())


def test_misspelt_nested_keys_suggest_the_nearest_key_at_that_level(tmp_path: Path) -> None:
    text = CARD.replace("better: lower", "betterr: lower").replace(
        "ward: {type: str}", "ward: {typ: str}"
    )
    error = _load_error(tmp_path / "p", text)

    outcome = _problem(error, "unknown key 'betterr'")
    assert outcome.where == f"line {_line_of(text, '    betterr:')}, outcomes[0].betterr"
    assert outcome.hint == "did you mean 'better'?"
    column = _problem(error, "unknown key 'typ'")
    assert column.where == f"line {_line_of(text, '    ward:')}, data.columns.ward.typ"
    assert column.hint == "did you mean 'type'?"


def test_wrong_literal_names_the_key_what_was_found_and_what_is_allowed(tmp_path: Path) -> None:
    text = CARD.replace("better: lower", "better: lowest")
    error = _load_error(tmp_path / "p", text)

    problem = _problem(error, "found 'lowest'")
    assert problem.where == f"line {_line_of(text, '    better:')}, outcomes[0].better"
    assert "found 'lowest'" in problem.message
    assert "'higher'" in problem.message and "'lower'" in problem.message
    # one mistake in the card, one problem reported: nothing that is not true of the card
    # (such as "outcomes should have at least 1 item" when it has one)
    assert error.problems == (problem,)


def test_an_empty_outcome_list_is_reported(tmp_path: Path) -> None:
    text = CARD.split("outcomes:")[0] + "outcomes: []\n"
    error = _load_error(tmp_path / "p", text)
    assert [p.where for p in error.problems] == [f"line {_line_of(text, 'outcomes:')}, outcomes"]


def test_every_mistake_in_one_card_is_reported_in_one_error(tmp_path: Path) -> None:
    text = (
        CARD.replace("design:", "desing:")
        .replace("place: Testford\n", "")
        .replace("better: lower", "better: lowest")
        .replace("ward: {type: str}", "ward: {typ: str}")
        .replace("cycle: 1", "cycle: first")
    )
    error = _load_error(tmp_path / "p", text)

    messages = "\n".join(str(p) for p in error.problems)
    for expected in (
        "unknown key 'desing'",
        "required key 'place' is missing",
        "required key 'design' is missing",
        "outcomes[0].better: found 'lowest'",
        "data.columns.ward.typ: unknown key 'typ'",
        f"line {_line_of(text, 'cycle:')}, cycle: found 'first'",
    ):
        assert expected in messages
    assert error.message.startswith(f"{len(error.problems)} problem(s)")
    for problem in error.problems:
        assert f"{problem.where}: {problem.message}".lstrip(": ") in str(error)
        assert problem.hint in str(error)


def test_missing_required_keys_are_named(tmp_path: Path) -> None:
    text = CARD.replace("name: Test pilot\n", "").replace("    better: lower\n", "")
    error = _load_error(tmp_path / "p", text)

    _problem(error, "required key 'name' is missing")
    nested = _problem(error, "required key 'better' is missing")
    assert nested.where == f"line {_line_of(text, '  - column: days')}, outcomes[0]"


@pytest.mark.parametrize(
    ("design", "drop", "needs"),
    [
        ("did", "  group: {column: arm, pilot: pilot}\n", "data.group"),
        ("did", "  period: {column: phase, post: after}\n", "data.period or data.time"),
        ("its", "", "data.time"),
    ],
)
def test_a_design_missing_a_role_it_needs_is_reported(
    tmp_path: Path, design: str, drop: str, needs: str
) -> None:
    text = CARD.replace("design: did", f"design: {design}").replace(drop, "")
    error = _load_error(tmp_path / "p", text)

    problem = _problem(error, f"design '{design}' needs {needs}")
    assert problem.where == f"line {_line_of(text, 'data:')}, data"
    assert needs in problem.hint


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("data.path", "../other/x.csv"),
        ("data.path", "data/../../other/x.csv"),
        ("data.path", "/etc/passwd"),
        ("voice", "../voice.csv"),
        ("voice", "/tmp/voice.csv"),
    ],
)
def test_paths_outside_the_pilot_folder_are_refused(tmp_path: Path, key: str, value: str) -> None:
    if key == "voice":
        text = CARD + f"voice: {value}\n"
    else:
        text = CARD.replace("path: data/cases.csv", f"path: {value}")
    error = _load_error(tmp_path / "p", text)

    problem = _problem(error, "points outside the pilot folder")
    assert problem.where.endswith(f", {key}")
    assert value in problem.message


def test_paths_inside_the_pilot_folder_are_accepted(make_pilot: PilotFactory) -> None:
    folder = make_pilot(card=DID_CARD + "voice: ./voice/what_people_said.csv\n")
    card = load_pilot(folder)
    assert card.voice == "./voice/what_people_said.csv"


# --- files that are not a card -----------------------------------------------------------------


def test_text_that_is_not_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    error = _load_error(tmp_path / "p", "name: Test\nplace: [Testford, Elsewhere\ndesign: did\n")
    assert "not valid YAML" in error.message
    assert error.where.isdigit()


def test_yaml_that_is_a_list_is_refused(tmp_path: Path) -> None:
    error = _load_error(tmp_path / "p", "- name: Test\n- place: Testford\n")
    assert "key: value" in error.message


@pytest.mark.parametrize("text", ["", "just some words\n"])
def test_yaml_that_is_empty_or_a_scalar_is_refused(tmp_path: Path, text: str) -> None:
    _load_error(tmp_path / "p", text)


def test_a_card_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    error = _load_error(tmp_path / "p", CARD.encode("utf-8").replace(b"Testford", b"Bront\xeb"))
    assert "UTF-8" in error.message


def test_a_folder_without_a_card_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "no-card"
    folder.mkdir()
    with pytest.raises(ConfigError) as caught:
        load_pilot(folder)
    assert caught.value.path == folder / CARD_FILE
    assert str(folder / CARD_FILE) in str(caught.value)
    assert "evalkit new" in caught.value.hint


def test_python_tags_are_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    payload = f"!!python/object/apply:os.mkdir ['{marker}']"  # unsafe_load would run it
    for text in (
        CARD + f"team_extra: {payload}\n",
        f"name: {payload}\n" + CARD.replace("name: Test pilot\n", ""),
        CARD + "voice: !!python/object:builtins.object {}\n",
    ):
        error = _load_error(tmp_path / "p", text)
        assert "python/object" in error.message
        assert not marker.exists()


# --- a property: any misspelling of a top-level key is named ------------------------------------

FULL_CARD: dict[str, Any] = {
    "id": "full-pilot",
    "name": "Test pilot",
    "place": "Testford",
    "team": "Test team",
    "cycle": 2,
    "theory_of_change": {"problem": "Families wait too long", "activities": ["a named worker"]},
    "learning_questions": [
        "Does a named worker shorten stays?",
        {"ask": "Do fewer families wait a year?", "outcomes": ["days"]},
    ],
    "design": "did",
    "data": {
        "path": "data/cases.csv",
        "group": {"column": "arm", "pilot": "pilot"},
        "period": {"column": "phase", "post": "after"},
    },
    "outcomes": [{"column": "days", "better": "lower", "min": 0}],
    "voice": "voice.csv",
    "quality": {"attrition_boundary": "optimistic", "categories": []},
    "plan": {"power": 0.9, "icc": 0.02},
    "min_cell_count": 10,
    "report": {"template": "my_report.ipynb"},
    "costs": {"currency": "GBP", "fixed": 25000, "per_participant": 420, "value": {"days": 35}},
}
TOP_KEYS = tuple(FULL_CARD)


def test_the_full_card_loads_and_uses_every_top_level_key(tmp_path: Path) -> None:
    visible = {name for name, field in PilotCard.model_fields.items() if not field.exclude}
    assert set(TOP_KEYS) == visible  # so the property below covers every key
    _write_card(tmp_path / "full", yaml.safe_dump(FULL_CARD, sort_keys=False))
    card = load_pilot(tmp_path / "full")
    assert card.id == "full-pilot"
    assert card.cycle == 2


@st.composite
def misspelt_keys(draw: st.DrawFn) -> tuple[str, str, str]:
    key = draw(st.sampled_from(TOP_KEYS))
    kind = draw(st.sampled_from(["drop", "swap"]))
    if kind == "drop":
        at = draw(st.integers(0, len(key) - 1))
        bad = key[:at] + key[at + 1 :]
    else:
        at = draw(st.integers(0, len(key) - 2))
        bad = key[:at] + key[at + 1] + key[at] + key[at + 2 :]
    assume(bad not in TOP_KEYS)
    assume(yaml.safe_load(f"{bad}: 1") == {bad: 1})  # still a plain YAML key
    return key, kind, bad


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(misspelt=misspelt_keys())
def test_any_misspelt_top_level_key_is_named(
    tmp_path: Path, misspelt: tuple[str, str, str]
) -> None:
    key, kind, bad = misspelt
    raw = {(bad if name == key else name): value for name, value in FULL_CARD.items()}
    text = yaml.safe_dump(raw, sort_keys=False)

    error = _load_error(tmp_path / "hypothesis-pilot", text)

    problem = _problem(error, f"unknown key '{bad}'")
    assert problem.where == f"line {_line_of(text, f'{bad}:')}, {bad}"
    if kind == "drop" and len(key) >= 5:
        assert problem.hint == f"did you mean '{key}'?"


# --- the units of a yes/no outcome's numbers -----------------------------------------------------

BINARY_OUTCOME = """\
  - column: settled
    label: Settled within six months
    type: binary
    better: higher
"""


@pytest.mark.parametrize(
    ("line", "meant"),
    [
        ("    hoped_change: -0.05\n", "write -5 for 5 points lower"),
        ("    hoped_change: 0.1\n", "write 10 for 10 points higher"),
        ("    hoped_change: 150\n", "e.g. -5 for five points lower"),
        ("    target: {value: 0.9}\n", "0.9 as a share is 90"),
        ("    target: {value: 120}\n", "write 90 for 90%"),
    ],
)
def test_a_yes_no_outcomes_numbers_in_the_wrong_units_are_refused_with_what_was_meant(
    tmp_path: Path, line: str, meant: str
) -> None:
    text = CARD + BINARY_OUTCOME + line
    error = _load_error(tmp_path, text)
    (problem,) = error.problems
    key = "hoped_change" if "hoped_change" in line else "target.value"
    assert f"outcomes[1].{key}" in problem.where
    assert f"line {_line_of(text, line.rstrip()[:12])}" in problem.where
    assert meant in problem.hint


@pytest.mark.parametrize(
    "line", ["    hoped_change: -5\n", "    hoped_change: 100\n", "    target: {value: 90}\n", ""]
)
def test_a_yes_no_outcomes_numbers_in_points_and_percent_load(tmp_path: Path, line: str) -> None:
    _write_card(tmp_path, CARD + BINARY_OUTCOME + line)
    card = load_pilot(tmp_path)
    assert card.outcomes[1].type == "binary"


def test_a_continuous_outcomes_small_hoped_change_is_its_own_unit(tmp_path: Path) -> None:
    _write_card(tmp_path, CARD + "    hoped_change: -0.5\n    target: {value: 0.5}\n")
    assert load_pilot(tmp_path).outcomes[0].hoped_change == -0.5
