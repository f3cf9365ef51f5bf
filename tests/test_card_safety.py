"""Tests that any pilot.yaml is read quickly, in little memory, or refused in plain words.

A card is typed by a person and may be copied from anywhere, so a hostile or
broken one (an alias bomb, a huge file, deep brackets, a date that is not a
date) must end in a ConfigError naming the file and line, never a hang, a
machine out of memory or a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from evalkit.card import CARD_FILE, MAX_CARD_BYTES, MAX_CARD_DEPTH, load_pilot
from evalkit.errors import ConfigError

from .conftest import DID_CARD, REPO, PilotFactory, evalkit_cmd

CARD = DID_CARD.format(data_path="data/cases.csv")


def _alias_bomb() -> str:
    """Return the "billion laughs": ten lines that stand for 9**10 (3.5 billion) strings."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def _card_error(folder: Path, text: str) -> ConfigError:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CARD_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_pilot(folder)
    assert caught.value.path == folder / CARD_FILE
    return caught.value


@pytest.fixture(params=[True, False], ids=["libyaml", "python-yaml"])
def yaml_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with libyaml's parser and with PyYAML's own (where libyaml is missing)."""
    if request.param and not yaml.__with_libyaml__:
        pytest.skip("PyYAML here has no libyaml")
    monkeypatch.setattr(yaml, "__with_libyaml__", request.param)


@dataclass(frozen=True)
class Measured:
    returncode: int
    stderr: str
    cpu_seconds: float
    wall_seconds: float
    peak_mb: float


#: Runs ``evalkit validate`` and prints its own usage. It is started from this small
#: process, not forked from pytest: a child forked from pytest starts out holding pytest's
#: pages, and its peak memory would be pytest's, however little the validation used.
MEASURE = """
import json, os, resource, subprocess, sys, time

def limit():
    # without the fix the bomb would take the machine: fail at 3 GB or 60 s instead
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))

with open(sys.argv[2], "wb") as stderr:
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "validate", sys.argv[1]],
        stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=limit,
    )
    # wait4 gives this child's own usage, not the peak of every child this process has had
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
print(json.dumps({
    "returncode": os.waitstatus_to_exitcode(status),
    "cpu_seconds": usage.ru_utime + usage.ru_stime,
    "wall_seconds": wall,
    "maxrss": usage.ru_maxrss,
}))
"""


def _measured_validate(folder: Path, tmp_path: Path) -> Measured:
    """Run ``evalkit validate`` and return its exit code, message, time and peak memory."""
    pytest.importorskip("resource")
    if not hasattr(os, "wait4"):
        pytest.skip("needs os.wait4 to measure one child's memory")
    err = tmp_path / "stderr.txt"
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(folder), str(err)],
        capture_output=True,
        text=True,
        check=True,
    )
    usage = json.loads(done.stdout)
    per_mb = 1 << 20 if sys.platform == "darwin" else 1 << 10  # bytes on macOS, KiB on Linux
    return Measured(
        returncode=usage["returncode"],
        stderr=err.read_text(encoding="utf-8", errors="replace"),
        cpu_seconds=usage["cpu_seconds"],
        wall_seconds=usage["wall_seconds"],
        peak_mb=usage["maxrss"] / per_mb,
    )


# --- anchors and aliases --------------------------------------------------------------------


def test_an_alias_bomb_is_refused_in_seconds_and_little_memory(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    pilot = make_pilot(card=CARD.replace("{", "{{").replace("}", "}}") + _alias_bomb())
    first_anchor = CARD.count("\n") + 1

    ran = _measured_validate(pilot, tmp_path)

    print(
        f"alias bomb: {ran.cpu_seconds:.2f} s CPU, {ran.wall_seconds:.2f} s, {ran.peak_mb:.0f} MB"
    )
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert f"{pilot / CARD_FILE}:{first_anchor}:" in ran.stderr
    assert "anchor &lol0" in ran.stderr
    assert "may not use YAML anchors (&) or aliases (*)" in ran.stderr
    # CPU time, not the clock: other work on a shared machine must not fail this test
    assert ran.cpu_seconds < 5
    assert ran.wall_seconds < 15
    assert ran.peak_mb < 300


def test_an_anchor_is_refused_at_its_line(tmp_path: Path, yaml_parser: None) -> None:
    text = CARD.replace("cycle: 1\n", "cycle: &one 1\n") + "min_cell_count: *one\n"

    error = _card_error(tmp_path / "pilot", text)

    assert error.where == str(CARD.splitlines().index("cycle: 1") + 1)
    assert "anchor &one" in error.message
    assert "anchors (&) or aliases (*)" in error.hint


def test_an_alias_alone_is_refused_at_its_line(tmp_path: Path, yaml_parser: None) -> None:
    error = _card_error(tmp_path / "pilot", CARD + "team: *nowhere\n")

    assert error.where == str(CARD.count("\n") + 1)
    assert "alias *nowhere" in error.message


def test_a_merge_key_is_refused_because_it_needs_an_alias(tmp_path: Path) -> None:
    text = CARD + "plan: &base {power: 0.8}\nquality:\n  <<: *base\n"

    error = _card_error(tmp_path / "pilot", text)

    assert error.where == str(CARD.count("\n") + 1)


def test_ampersands_and_stars_in_text_and_comments_are_fine(make_pilot: PilotFactory) -> None:
    card = CARD.replace("name: Test pilot", 'name: "Tom & Jerry *stars* &co"  # & * in a comment')
    pilot = make_pilot(card=card.replace("{", "{{").replace("}", "}}"))

    assert load_pilot(pilot).name == "Tom & Jerry *stars* &co"


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (REPO / "pilots").iterdir() if (p / CARD_FILE).is_file())
)
def test_every_example_card_still_loads(example_pilot: Callable[[str], Path], name: str) -> None:
    folder = example_pilot(name)

    assert load_pilot(folder).name


# --- size, depth and values YAML cannot build ----------------------------------------------------


def test_a_card_over_the_size_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    folder = tmp_path / "pilot"
    folder.mkdir()
    with (folder / CARD_FILE).open("w", encoding="utf-8") as out:
        out.write(CARD)
        out.write("# padding\n" * (MAX_CARD_BYTES // 10 + 1))

    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_pilot(folder)

    assert time.monotonic() - started < 1
    assert "larger than 1 MB" in caught.value.message
    assert str(folder / CARD_FILE) in str(caught.value)


def test_a_card_just_under_the_size_limit_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "pilot"
    folder.mkdir()
    padding = "# padding\n" * ((MAX_CARD_BYTES - len(CARD)) // 10)
    (folder / CARD_FILE).write_text(CARD + padding, encoding="utf-8")

    assert load_pilot(folder).name == "Test pilot"


def test_brackets_ten_thousand_deep_give_a_plain_message(
    make_pilot: PilotFactory,
) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    pilot = make_pilot(card=CARD.replace("{", "{{").replace("}", "}}") + f"extra: {deep}\n")

    ran = evalkit_cmd("validate", pilot, timeout=120)

    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr and "RecursionError" not in ran.stderr
    assert f"{pilot / CARD_FILE}:{CARD.count(chr(10)) + 1}:" in ran.stderr


@pytest.mark.parametrize("depth", [MAX_CARD_DEPTH + 1, 10_000])
def test_deep_nesting_is_refused_at_its_line(tmp_path: Path, yaml_parser: None, depth: int) -> None:
    text = CARD + "extra: " + "[" * depth + "]" * depth + "\n"

    started = time.monotonic()
    error = _card_error(tmp_path / "pilot", text)

    assert time.monotonic() - started < 5
    assert error.where == str(CARD.count("\n") + 1)
    assert "nest" in error.message


def test_nesting_a_card_needs_is_fine(tmp_path: Path) -> None:
    nested = "[" * (MAX_CARD_DEPTH - 3) + "1" + "]" * (MAX_CARD_DEPTH - 3)
    error = _card_error(tmp_path / "pilot", CARD + f"extra: {nested}\n")

    assert "unknown key 'extra'" in str(error)  # read, then refused as an unknown key


@pytest.mark.parametrize(
    ("value", "found"),
    [("2025-13-01", "'2025-13-01' cannot be read: month must be in 1..12"), ("9" * 5000, "digits")],
    ids=["month-13", "5000-digit-number"],
)
def test_a_value_yaml_cannot_build_is_refused_at_its_line(
    tmp_path: Path, value: str, found: str
) -> None:
    text = CARD.replace("cycle: 1\n", f"cycle: {value}\n")

    error = _card_error(tmp_path / "pilot", text)

    assert error.where == str(CARD.splitlines().index("cycle: 1") + 1)
    assert found in error.message
    assert "quotes" in error.hint


@pytest.mark.parametrize("tagged", ["!!binary aGk=", "!!python/name:os.system", "!local x"])
def test_a_yaml_tag_is_refused_at_its_line(tmp_path: Path, yaml_parser: None, tagged: str) -> None:
    error = _card_error(tmp_path / "pilot", CARD + f"team: {tagged}\n")

    assert error.where == str(CARD.count("\n") + 1)
    assert "YAML tag" in error.message
    assert "may not use YAML tags" in error.hint


def test_a_key_given_twice_is_refused_at_the_second(tmp_path: Path, yaml_parser: None) -> None:
    error = _card_error(tmp_path / "pilot", CARD + "cycle: 2\n")

    assert error.where == str(CARD.count("\n") + 1)
    assert "'cycle' is given twice" in error.message
