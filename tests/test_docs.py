"""Documentation that cannot drift: commands in the README, CI running the README's command."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

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


def _setup_commands() -> tuple[str, str]:
    """Return the README's two set-up commands: run the example pilots, run the tests."""
    commands = re.findall(r"```bash\n(.+?)\n```", README)
    run_command = next(c for c in commands if "evalkit run --all" in c)
    test_command = next(c for c in commands if "pytest" in c)
    return run_command, test_command


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    run_command, test_command = _setup_commands()
    assert README.index(run_command) < README.index(test_command)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci
    # in a fresh virtual environment inside the checkout
    assert "rm -rf .venv" in ci[: ci.index(test_command)]
    assert "python3 -m venv .venv" in test_command


def test_the_readmes_test_command_installs_chromium_only_when_it_is_missing(
    tmp_path: Path,
) -> None:
    _, test_command = _setup_commands()
    script = "scripts/install_chromium.sh"
    assert test_command.startswith(f"bash {script} && "), "the browser tests need chromium"
    # a machine without chromium, where apt-get (a stand-in) records what it was asked
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    bash = shutil.which("bash")
    assert bash
    stubs = {
        "id": "echo 0",  # as root, as CI runs
        "apt-get": (
            f'echo "$*" >> {calls}\n'
            f'[ "$1" = install ] && printf "#!{bash}\\n" > {bin_dir}/chromium'
            f" && {shutil.which('chmod')} +x {bin_dir}/chromium\ntrue"
        ),
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!{bash}\n{body}\n", encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    (bin_dir / "env").symlink_to(shutil.which("env") or "/usr/bin/env")

    def install() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [bash, str(REPO / script)],
            env={"PATH": str(bin_dir)},
            capture_output=True,
            text=True,
            timeout=30,
        )

    first = install()
    assert first.returncode == 0, first.stderr
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq chromium"]
    again = install()  # chromium is there now: nothing to do
    assert again.returncode == 0, again.stderr
    assert len(calls.read_text().splitlines()) == 2


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


def test_only_the_notebooks_room_imports_jupyter_and_one_module_imports_click() -> None:
    sources = {
        p.relative_to(REPO / "evalkit").as_posix(): p.read_text()
        for p in (REPO / "evalkit").rglob("*.py")
    }
    assert [
        n for n, s in sources.items() if re.search(r"^\s*(import|from) papermill", s, re.M)
    ] == ["notebooks/execute.py"]
    jupyter = r"^\s*(import|from) (nbclient|nbconvert|nbformat|papermill|jupyter_client)\b"
    importers = sorted(n for n, s in sources.items() if re.search(jupyter, s, re.M))
    assert importers, "the notebooks room imports jupyter's packages"
    assert [n for n in importers if not n.startswith("notebooks/")] == []
    assert [n for n, s in sources.items() if re.search(r"^\s*(import|from) click", s, re.M)] == [
        "cli.py"
    ]
