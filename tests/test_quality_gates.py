"""ruff and mypy, configured in pyproject.toml, run as tests so CI enforces them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "evalkit", "tests", "scripts", "benchmarks"],
        ["ruff", "format", "--check", "evalkit", "tests", "scripts", "benchmarks"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_passes(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", command[0], *command[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
