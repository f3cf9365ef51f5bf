"""The package's layout is its architecture: layers import downward only, modules stay small,
and the public API is exactly what ``evalkit.__all__`` says (httpx tests its own the same way).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import evalkit

from .conftest import REPO

PACKAGE = REPO / "evalkit"

#: The layers, lowest first (README, "Architecture"): a module imports only from its own
#: layer or those below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "evalkit._version",
        "evalkit._lazy",
        "evalkit.errors",
        "evalkit.atomic",
        "evalkit.filelock",
        "evalkit.hashing",
        "evalkit.timestamps",
        "evalkit.markup",
        "evalkit.safe_csv",
    ),
    ("evalkit.card",),
    ("evalkit.contract",),
    ("evalkit.quality",),
    ("evalkit.estimate",),
    ("evalkit.charts",),
    ("evalkit.results",),
    ("evalkit.learning",),
    ("evalkit.analysis",),
    ("evalkit.report",),
    ("evalkit.compare",),
    ("evalkit.scaffold",),
    ("evalkit.notebooks",),
    ("evalkit.runner",),
    ("evalkit.cli", "evalkit.console", "evalkit.__main__", "evalkit"),
)

#: Imports that reach up on purpose, each with its reason.
UPWARD = {
    # the card asks the light design registry what its design needs (it loads no estimator)
    ("evalkit.card.load", "evalkit.estimate.registry"),
}

#: The public API, exactly (others' scripts use it: change it on purpose, with the CHANGELOG).
PUBLIC = [
    "Analysis",
    "ConfigError",
    "DataError",
    "EstimationError",
    "EvalkitError",
    "Finding",
    "NotebookError",
    "PilotCard",
    "Results",
    "Validation",
    "__version__",
    "analyse_pilot",
    "estimate_effects",
    "load_pilot",
    "load_results",
    "run_pilot",
    "subgroup_means",
    "validate_data",
]

MAX_LINES = 420


def modules() -> dict[str, Path]:
    """Return every module of the package by its dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def layer(name: str) -> int:
    """Return the rank of the layer a module belongs to (the longest matching prefix)."""
    best, rank = "", -1
    for index, members in enumerate(LAYERS):
        for member in members:
            matches = name == member or name.startswith(member + ".")
            if matches and len(member) > len(best):
                best, rank = member, index
    if rank < 0:
        raise AssertionError(f"{name} is in no layer: add it to LAYERS and to the README")
    return rank


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the evalkit modules a module imports, at its top and inside functions."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "evalkit"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.split(".")[0] != "evalkit":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return found


def test_every_module_belongs_to_a_layer() -> None:
    for name in modules():
        layer(name)


def test_imports_go_downward_only() -> None:
    known = set(modules())
    upward = []
    for name, path in modules().items():
        if name == "evalkit":
            continue  # the package face loads the public API on first use
        for target in imported(name, path, known):
            assert target != "evalkit", f"{name} imports the package face; import the module"
            if layer(target) > layer(name) and (name, target) not in UPWARD:
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_module_is_over_about_400_lines() -> None:
    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_public_api_is_exactly_what_all_says() -> None:
    assert evalkit.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(evalkit, name) is not None, name
    with pytest.raises(AttributeError):
        _ = evalkit.not_a_name  # type: ignore[attr-defined]
    assert dir(evalkit) == sorted(PUBLIC)


def test_each_room_exports_what_its_all_says() -> None:
    rooms = [name for name, path in modules().items() if path.name == "__init__.py"]
    for room in rooms:
        module = importlib.import_module(room)
        for name in getattr(module, "__all__", ()):
            assert getattr(module, name) is not None, f"{room}.{name}"
