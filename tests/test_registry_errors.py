"""The registry's errors: a design module's mistake and a broken installed design, said plainly."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.card import load_pilot
from evalkit.cli import cli
from evalkit.errors import ConfigError
from evalkit.estimate import registry
from evalkit.estimate.registry import Design, Rubric, Words, get_design, register_design
from tests.conftest import DID_CARD, PilotFactory

WORDS = Words(
    uses="a test design", opens="{label} was", counts_open="there were", closes="", caveat=""
)


def a_design(name: str, needs: tuple[tuple[str, ...], ...]) -> Design:
    return Design(
        name=name,
        needs=needs,  # type: ignore[arg-type]  # a role the type would refuse is what is tested
        estimate=registry.estimator("math", "nan"),
        words=WORDS,
        rubric=Rubric(1, "a test design"),
        plan_as=None,
    )


def test_a_design_needing_an_unknown_role_is_refused_when_registered() -> None:
    with pytest.raises(ValueError, match=r"'cluster'.*only group, period, time"):
        register_design(a_design("needs-cluster", (("group",), ("cluster", "time"))))
    assert "needs-cluster" not in registry._REGISTRY


def test_a_bare_role_in_needs_is_refused_with_the_shape_it_should_have() -> None:
    with pytest.raises(ValueError, match=r"tuple of alternatives, such as \('group',\)"):
        register_design(a_design("bare-role", ("group",)))  # type: ignore[arg-type]
    assert "bare-role" not in registry._REGISTRY


@pytest.fixture
def broken_package(tmp_path: Path) -> Iterator[Path]:
    """Put on the path an installed-package record offering two designs that do not load."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "evalkit_broken_design.py").write_text(
        "import evalkit_missing_dependency\n", encoding="utf-8"
    )
    (folder / "evalkit_renamed_design.py").write_text("OTHER = None\n", encoding="utf-8")
    info = folder / "evalkit_broken_design-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: evalkit-broken-design\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[evalkit.designs]\n"
        "broken = evalkit_broken_design\n"
        "renamed = evalkit_renamed_design:DESIGN\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        for module in ("evalkit_broken_design", "evalkit_renamed_design"):
            sys.modules.pop(module, None)


@pytest.mark.parametrize(
    ("name", "error"),
    [("broken", "ModuleNotFoundError"), ("renamed", "AttributeError")],
)
def test_an_installed_design_that_does_not_load_names_its_package(
    broken_package: Path, name: str, error: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        get_design(name)

    said = caught.value.render()
    assert f"design '{name}' is offered by evalkit-broken-design" in said
    assert f"entry point evalkit.designs: {name} = " in said
    assert error in said
    assert "pip install --upgrade evalkit-broken-design" in said


def test_a_card_naming_a_broken_design_gives_a_message_not_a_traceback(
    broken_package: Path, make_pilot: PilotFactory
) -> None:
    pilot = make_pilot(card=DID_CARD.replace("design: did", "design: broken"))
    with pytest.raises(ConfigError, match="evalkit-broken-design"):
        load_pilot(pilot)

    done = CliRunner().invoke(cli, ["validate", str(pilot)])

    assert done.exit_code == 1
    assert "evalkit-broken-design" in done.output
    assert "Traceback" not in done.output
