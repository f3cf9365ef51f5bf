"""evalkit as a user gets it: a wheel, installed in a fresh virtual environment, runs every report.

The wheel is built with ``python -m build --no-isolation`` (an sdist, then the wheel from the
sdist, as a release would) from a copy of the checkout's working tree, so the test writes nothing
into the checkout and no stale ``build/`` folder can leak deleted modules into the wheel. No
download: the test extras hold ``build`` and the setuptools that pyproject asks for.

The wheel is installed with ``pip --no-deps`` into a virtual environment under tmp_path; its
dependencies are this test environment's, made visible by a ``.pth`` file written after the
install. A ``.pth`` line adds a folder to sys.path without running the ``.pth`` files in it, so
the test environment's editable evalkit (a finder installed by such a file) is never imported:
the test asserts that evalkit comes from the fresh environment. Then ``evalkit run --all`` runs
on a copy of the example pilots from a folder that is not the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

#: Folders at the top of the checkout that are not source: not copied to build from.
_NOT_SOURCE_AT_TOP = {
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "runs",
    ".benchmarks",
    ".hypothesis",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}
#: Leftovers anywhere: caches, editors' checkpoints, setuptools' metadata.
_LEFTOVERS = {"__pycache__", ".ipynb_checkpoints"}
#: What runs leave in a pilot's folder (git ignores them): a fresh clone has none.
_RUN_LEFTOVERS = {"reports", ".evalkit-salt"}


def _leftover(name: str) -> bool:
    return name in _LEFTOVERS or name.endswith((".egg-info", ".pyc"))


def _not_source(folder: str, names: list[str]) -> set[str]:
    """Say which of ``names`` in ``folder`` a fresh clone would not have (for shutil.copytree)."""
    here = Path(folder)
    ignored = {n for n in names if _leftover(n)}
    if here == REPO:
        ignored |= {n for n in names if n in _NOT_SOURCE_AT_TOP}
    if here.parent.name == "pilots":
        ignored |= {n for n in names if n in _RUN_LEFTOVERS or n.endswith(".lock")}
    return ignored


#: What a report cannot run without (besides the modules).
NEEDED = (
    "evalkit/py.typed",
    "evalkit/_version.py",
    "evalkit/templates/pilot_report.ipynb",
    "evalkit/templates/learning_review.ipynb",
    "evalkit/templates/central_comparison.ipynb",
    "evalkit/notebooks/report_template/evalkit/conf.json",
    "evalkit/notebooks/report_template/evalkit/index.html.j2",
)

REPORT_FILES = ("report.html", "report.ipynb", "results.json")


def _run(args: Sequence[str | Path], hint: str = "", **kwargs: object) -> str:
    """Run a command; fail the test with its output if it fails; return what it printed."""
    command = [str(a) for a in args]
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        pytest.fail(
            f"`{' '.join(command)}` exited with {done.returncode}{hint}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}",
            pytrace=False,
        )
    return str(done.stdout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build evalkit's sdist and, from it, its wheel; return the wheel."""
    extras = (
        "install the test extras (`pip install -e '.[test]'`, as the README's test command "
        "does): they hold `build` and the setuptools that pyproject's build-system requires"
    )
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail(f"`build` is not installed in the test environment: {extras}", pytrace=False)
    base = tmp_path_factory.mktemp("packaging")
    source, dist = base / "source", base / "dist"
    shutil.copytree(REPO, source, ignore=_not_source, symlinks=True)
    _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source],
        hint=f" (if it names a missing dependency: {extras})",
    )
    wheels = sorted(dist.glob("evalkit-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {[w.name for w in dist.iterdir()]}"
    assert sorted(dist.glob("evalkit-*.tar.gz")), "no sdist was built"
    return wheels[0]


def test_the_wheel_holds_what_a_report_needs_and_nothing_from_tests_or_pilots(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        name, version = wheel.name.split("-")[:2]
        dist_info = f"{name}-{version}.dist-info"
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    missing = [n for n in NEEDED if n not in names]
    assert not missing, f"the wheel lacks {missing}: declare them as package data in pyproject"
    # every file of the package folder ships (modules, templates, the nbconvert template)
    package = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "evalkit").rglob("*")
        if p.is_file() and not any(_leftover(part) for part in p.relative_to(REPO).parts)
    )
    unshipped = [n for n in package if n not in names]
    assert not unshipped, f"files of evalkit/ missing from the wheel: {unshipped}"
    tops = {n.split("/")[0] for n in names}
    assert tops == {"evalkit", dist_info}, f"the wheel installs more than evalkit: {sorted(tops)}"
    leftovers = sorted(n for n in names if any(_leftover(part) for part in n.split("/")))
    assert not leftovers, f"the wheel carries build or editor leftovers: {leftovers}"
    assert "evalkit = evalkit.cli:main" in entry_points
    release: dict[str, str] = {}
    exec((REPO / "evalkit" / "_version.py").read_text(encoding="utf-8"), release)
    assert version == release["__version__"]


def _fresh_venv(wheel: Path, where: Path) -> Path:
    """Install ``wheel`` alone into a new virtual environment; let it use our dependencies."""
    _run([sys.executable, "-m", "venv", "--without-pip", where])
    python = where / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "--disable-pip-version-check",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            wheel,
        ]
    )
    # only now (pip would otherwise see the test environment's evalkit as installed): the
    # dependencies, as plain folders on sys.path, after the fresh site-packages
    purelib = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip()
    )
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "evalkit_test_dependencies.pth").write_text(
        "".join(f"{p}\n" for p in ours), encoding="utf-8"
    )
    # nbconvert's own templates (the "lab" template evalkit's extends) are data files that pip
    # puts in <environment>/share/jupyter; the fresh environment gets the test environment's
    jupyter_data = Path(sys.prefix) / "share" / "jupyter"
    if not (jupyter_data / "nbconvert" / "templates" / "lab").is_dir():
        pytest.fail(f"nbconvert's templates are not in {jupyter_data}", pytrace=False)
    (where / "share").mkdir(exist_ok=True)
    (where / "share" / "jupyter").symlink_to(jupyter_data, target_is_directory=True)
    return python


def test_a_wheel_in_a_fresh_venv_outside_the_checkout_runs_every_example_pilot(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    python = _fresh_venv(wheel, venv)
    pilots = tmp_path / "pilots"
    shutil.copytree(REPO / "pilots", pilots, ignore=_not_source)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env |= {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}

    found = _run(
        [python, "-c", "import evalkit, pathlib; print(pathlib.Path(evalkit.__file__).resolve())"],
        cwd=elsewhere,
        env=env,
    )
    imported = Path(found.strip())
    assert imported.is_relative_to(venv.resolve()), (
        f"evalkit was imported from {imported}, not from the fresh environment {venv}"
    )
    assert (imported.parent / "templates" / "pilot_report.ipynb").is_file()

    _run(
        [venv / "bin" / "evalkit", "run", "--all", "--jobs", "2", pilots],
        cwd=elsewhere,
        env=env,
        timeout=600,
    )
    cards = sorted(pilots.glob("*/pilot.yaml"))
    assert len(cards) >= 6, f"expected the six example pilots, found {len(cards)}"
    for card in cards:
        cycle = yaml.safe_load(card.read_text(encoding="utf-8"))["cycle"]
        out = card.parent / "reports" / f"cycle-{cycle}"
        missing = [n for n in REPORT_FILES if not (out / n).is_file()]
        assert not missing, f"{card.parent.name}: {out} lacks {missing}"
        assert json.loads((out / "results.json").read_text(encoding="utf-8"))
        assert "<html" in (out / "report.html").read_text(encoding="utf-8")[:2000].lower()
