"""Shared fixtures: small real pilot folders written into a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# two test workers share the cores: one linear-algebra thread each, as evalkit gives its
# kernels (evalkit.notebooks.kernel_factory.kernel_environment), set before numpy loads
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from evalkit.charts._render import CACHE_VARIABLE  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

#: A minimal 2x2 difference-in-differences card; format with data_path.
DID_CARD = """\
name: Test pilot
place: Testford
team: Test team
cycle: 1
design: did
data:
  path: {data_path}
  unit: case_id
  group: {{column: arm, pilot: pilot}}
  period: {{column: phase, post: after}}
  columns:
    ward: {{type: str}}
    household_size: {{type: int, min: 1, max: 15}}
outcomes:
  - column: days
    label: Days in temporary accommodation
    unit: days
    better: lower
    min: 0
"""

DID_ROWS = "case_id,arm,phase,ward,household_size,days\n" + "".join(
    f"C{i:03d},{arm},{phase},W{i % 3},{1 + i % 4},{100 + i % 7 - (12 if (arm, phase) == ('pilot', 'after') else 0)}\n"  # noqa: E501
    for i, (arm, phase) in enumerate(
        [(a, p) for a in ("pilot", "comparison") for p in ("before", "after")] * 15
    )
)


PilotFactory = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def chart_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the tests' chart drawings in the session's own folder, shared by its workers
    (and by the evalkit processes they start), never in the user's cache."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "chart-cache"
    before = os.environ.get(CACHE_VARIABLE)
    os.environ[CACHE_VARIABLE] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(CACHE_VARIABLE, None)
    else:
        os.environ[CACHE_VARIABLE] = before


@pytest.fixture
def make_pilot(tmp_path: Path) -> PilotFactory:
    """Return a function that writes a pilot folder (card text and data) and returns it."""

    def make(
        card: str = DID_CARD,
        data: str | bytes = DID_ROWS,
        data_name: str = "data/cases.csv",
        folder: str = "test-pilot",
    ) -> Path:
        pilot = tmp_path / folder
        (pilot / "data").mkdir(parents=True, exist_ok=True)
        (pilot / "pilot.yaml").write_text(
            textwrap.dedent(card).format(data_path=data_name), encoding="utf-8"
        )
        target = pilot / data_name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")
        return pilot

    return make


@pytest.fixture
def example_pilot(tmp_path: Path) -> Callable[[str], Path]:
    """Return a function copying a shipped example pilot (without reports) into tmp_path."""

    def copy(name: str = "northbridge-ta") -> Path:
        return copy_example(name, tmp_path)

    return copy


def copy_example(name: str, base: Path) -> Path:
    """Return a copy of a shipped example pilot (without its reports) inside ``base``."""
    target = base / name
    shutil.copytree(REPO / "pilots" / name, target, ignore=shutil.ignore_patterns("reports"))
    return target


def render_report(pilot: Path, out: Path) -> Path:
    """Run the real report template on ``pilot`` into ``out`` and export report.html; return out."""
    from evalkit.notebooks import execute_template, export_html, template_path

    out.mkdir(parents=True, exist_ok=True)
    notebook = execute_template(
        template_path("pilot_report.ipynb"),
        out / "report.ipynb",
        {"pilot_dir": str(pilot), "output_dir": str(out)},
        cwd=pilot,
    )
    export_html(notebook, out / "report.html")
    return out


def evalkit_cmd(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m evalkit ARGS`` in a fresh interpreter, as a scheduler would."""
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )
