"""Documentation that cannot drift: commands in the README, CI running the README's command."""

from __future__ import annotations

import re

import click
import pytest

import evalkit
from evalkit.cli import cli

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(cli.commands.items()):
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in sorted(command.commands.items())]
    return found


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_every_command_is_in_the_readme_with_its_help(name: str, command: click.Command) -> None:
    assert f"evalkit {name}" in README
    first_line = (command.help or "").strip().splitlines()[0]
    assert first_line in README, f"README lacks the help text of `evalkit {name}`"
    for param in command.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--") and opt != "--help":
                assert opt in README, f"README lacks `evalkit {name} {opt}`"


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    commands = re.findall(r"```bash\n(.+?)\n```", README)
    test_command = next(c for c in commands if "pytest" in c)
    run_command = next(c for c in commands if "evalkit run --all" in c)
    assert README.index(run_command) < README.index(test_command)
    assert test_command in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_changelog_has_an_unreleased_section_naming_issues() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert re.search(r"\(#\d+\)", changelog)


def test_public_api_is_exported_on_purpose() -> None:
    for name in evalkit.__all__:
        assert getattr(evalkit, name) is not None, name
    assert set(evalkit.__all__) >= {
        "load_pilot",
        "validate_data",
        "estimate_effects",
        "analyse_pilot",
        "run_pilot",
        "EvalkitError",
    }
    assert sorted(evalkit.__all__) == evalkit.__all__


def test_only_one_module_imports_papermill_and_one_imports_click() -> None:
    sources = {
        p.relative_to(REPO / "evalkit").as_posix(): p.read_text()
        for p in (REPO / "evalkit").rglob("*.py")
    }
    assert [
        n for n, s in sources.items() if re.search(r"^\s*(import|from) papermill", s, re.M)
    ] == ["notebooks/__init__.py"]
    assert [n for n, s in sources.items() if re.search(r"^\s*(import|from) click", s, re.M)] == [
        "cli.py"
    ]
